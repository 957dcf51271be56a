package kubetest

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// tokenLifetime is the lifetime asked for service account tokens; tests end
// long before.
const tokenLifetime int64 = 3600

// CreateNamespace creates namespace name unless it exists.
func (s *Server) CreateNamespace(t testing.TB, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_, err := s.admin.CoreV1().Namespaces().Create(s.ctx(t), ns, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return
	}
	require.NoError(t, err, "create namespace %s", name)
}

// CreateDeployment creates a Deployment with spec.replicas = replicas (and
// its namespace if missing). Its one container never runs: no controllers
// or kubelets exist, so only spec matters.
func (s *Server) CreateDeployment(t testing.TB, namespace, name string, replicas int32) *appsv1.Deployment {
	t.Helper()
	s.CreateNamespace(t, namespace)
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "taskmanager", Image: "flink:1.20", Args: []string{"taskmanager"},
				}}},
			},
		},
	}
	d, err := s.admin.AppsV1().Deployments(namespace).Create(s.ctx(t), d, metav1.CreateOptions{})
	require.NoError(t, err, "create deployment %s/%s", namespace, name)
	return d
}

// ServiceAccountConfig creates ServiceAccount namespace/name, a Role with
// rules and a RoleBinding of it (both named name), and returns a config that
// authenticates as that ServiceAccount, so requests are subject to RBAC.
func (s *Server) ServiceAccountConfig(t testing.TB, namespace, name string, rules []rbacv1.PolicyRule) *rest.Config {
	t.Helper()
	s.CreateNamespace(t, namespace)
	ctx := s.ctx(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	_, err := s.admin.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{})
	require.NoError(t, err, "create service account %s/%s", namespace, name)
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Rules: rules}
	_, err = s.admin.RbacV1().Roles(namespace).Create(ctx, role, metav1.CreateOptions{})
	require.NoError(t, err, "create role %s/%s", namespace, name)
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: namespace}},
	}
	_, err = s.admin.RbacV1().RoleBindings(namespace).Create(ctx, binding, metav1.CreateOptions{})
	require.NoError(t, err, "create role binding %s/%s", namespace, name)
	return s.TokenConfig(t, namespace, name)
}

// TokenConfig returns a config that authenticates as the existing
// ServiceAccount namespace/name with a token from the TokenRequest API.
func (s *Server) TokenConfig(t testing.TB, namespace, name string) *rest.Config {
	t.Helper()
	lifetime := tokenLifetime
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &lifetime}}
	tr, err := s.admin.CoreV1().ServiceAccounts(namespace).CreateToken(s.ctx(t), name, req, metav1.CreateOptions{})
	require.NoError(t, err, "token for service account %s/%s", namespace, name)
	return s.tokenConfig(tr.Status.Token)
}

// Kubeconfig writes a kubeconfig file for cfg (host, CA and bearer token)
// into a temporary directory and returns its path.
func (s *Server) Kubeconfig(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	const name = "kubetest"
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: metav1.NamespaceDefault}
	kc.CurrentContext = name
	path := t.TempDir() + "/kubeconfig"
	require.NoError(t, clientcmd.WriteToFile(*kc, path))
	return path
}

// RoleRules returns the rules of the first Role in the manifest file at
// path, so a test runs with exactly the permissions a user deploys.
func RoleRules(t testing.TB, path string) []rbacv1.PolicyRule {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	objs, err := DecodeYAML(raw)
	require.NoError(t, err)
	for _, o := range objs {
		if o.GetKind() == "Role" {
			var role rbacv1.Role
			require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &role))
			return role.Rules
		}
	}
	t.Fatalf("no Role in %s", path)
	return nil
}
