package release

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// As returns a copy of c whose Helm actions act as the ServiceAccount namespace/name:
// every request Helm sends (discovery, the release's objects, its release records)
// impersonates it, so the API server authorizes them against that ServiceAccount's
// RBAC and not against the caller's. Whoever c's Getter authenticates as needs the
// `impersonate` verb on the ServiceAccount; CheckImpersonation says whether they have
// it. Only the copy impersonates: c, and whatever else shares its Getter (the plugin's
// own reads and writes of Extensions, Secrets and Leases), keeps the caller's identity.
func (c *Client) As(namespace, name string) *Client {
	cp := *c
	cp.Getter = Impersonate(c.Getter, ServiceAccountUser(namespace, name))
	return &cp
}

// ServiceAccountUser is the user name the API server gives ServiceAccount namespace/name.
func ServiceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// Impersonate wraps a RESTClientGetter so that every client built from it acts as
// user (a user name such as system:serviceaccount:NS:NAME). The API server adds a
// ServiceAccount's groups itself. The wrapped getter is left as it was.
func Impersonate(g genericclioptions.RESTClientGetter, user string) genericclioptions.RESTClientGetter {
	return &impersonating{base: g, user: user}
}

// impersonating builds its own discovery client and REST mapper from the impersonated
// configuration: the base getter's would be built from its own, unimpersonated one,
// and discovery is a request like any other.
type impersonating struct {
	base genericclioptions.RESTClientGetter
	user string

	once   sync.Once
	dc     discovery.CachedDiscoveryInterface
	mapper meta.RESTMapper
	err    error
}

func (i *impersonating) impersonate(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	// Replacing, not adding to, an impersonation the caller asked for (kubectl's --as):
	// the API server does not chain impersonation, it checks the authenticated caller.
	c.Impersonate = rest.ImpersonationConfig{UserName: i.user}
	return c
}

// ToRESTConfig implements genericclioptions.RESTClientGetter.
func (i *impersonating) ToRESTConfig() (*rest.Config, error) {
	cfg, err := i.base.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	return i.impersonate(cfg), nil
}

func (i *impersonating) build() {
	i.once.Do(func() {
		cfg, err := i.ToRESTConfig()
		if err != nil {
			i.err = err
			return
		}
		dc, err := discovery.NewDiscoveryClientForConfig(cfg)
		if err != nil {
			i.err = err
			return
		}
		i.dc = memory.NewMemCacheClient(dc)
		i.mapper = restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(i.dc), i.dc, nil)
	})
}

// ToDiscoveryClient implements genericclioptions.RESTClientGetter.
func (i *impersonating) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	i.build()
	return i.dc, i.err
}

// ToRESTMapper implements genericclioptions.RESTClientGetter.
func (i *impersonating) ToRESTMapper() (meta.RESTMapper, error) {
	i.build()
	return i.mapper, i.err
}

// ToRawKubeConfigLoader implements genericclioptions.RESTClientGetter; a client
// configuration taken from the loader impersonates too.
func (i *impersonating) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return impersonatingConfig{base: i.base.ToRawKubeConfigLoader(), i: i}
}

type impersonatingConfig struct {
	base clientcmd.ClientConfig
	i    *impersonating
}

func (c impersonatingConfig) RawConfig() (clientcmdapi.Config, error) { return c.base.RawConfig() }
func (c impersonatingConfig) Namespace() (string, bool, error)        { return c.base.Namespace() }
func (c impersonatingConfig) ConfigAccess() clientcmd.ConfigAccess    { return c.base.ConfigAccess() }

func (c impersonatingConfig) ClientConfig() (*rest.Config, error) {
	cfg, err := c.base.ClientConfig()
	if err != nil {
		return nil, err
	}
	return c.i.impersonate(cfg), nil
}

// ImpersonationError says that the caller may not act as an install ServiceAccount,
// and what to grant.
type ImpersonationError struct {
	// User is the caller as the API server knows them ("" when it would not say).
	User            string
	Namespace, Name string
}

func (e *ImpersonationError) Error() string {
	who := e.User
	subject := "--user=" + e.User
	if who == "" {
		who, subject = "the user of this kubeconfig", "--user=USER"
	}
	return fmt.Sprintf("%s may not impersonate ServiceAccount %s/%s, which Helm acts as for this extension; "+
		"grant the `impersonate` verb on it, e.g. "+
		"`kubectl create role kubeext-impersonate-%[3]s -n %[2]s --verb=impersonate --resource=serviceaccounts --resource-name=%[3]s` and "+
		"`kubectl create rolebinding kubeext-impersonate-%[3]s -n %[2]s --role=kubeext-impersonate-%[3]s %[4]s`",
		who, e.Namespace, e.Name, subject)
}

// CheckImpersonation asks the API server (a SelfSubjectAccessReview, as the caller)
// whether the caller may impersonate the ServiceAccount namespace/name, and returns
// an *ImpersonationError naming the RBAC to grant when not. Asking first means a
// missing grant is reported before anything is created, in words, instead of as the
// first Helm request's 403.
func (c *Client) CheckImpersonation(ctx context.Context, namespace, name string) error {
	_, cs, err := c.clientset()
	if err != nil {
		return err
	}
	review, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: "impersonate", Resource: "serviceaccounts", Namespace: namespace, Name: name,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("asking the API server whether you may impersonate ServiceAccount %s/%s: %w", namespace, name, err)
	}
	if review.Status.Allowed {
		return nil
	}
	ierr := &ImpersonationError{Namespace: namespace, Name: name}
	// Who the caller is only improves the message; a server that will not say is no error.
	if who, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err == nil {
		ierr.User = who.Status.UserInfo.Username
	}
	return ierr
}

// WaitAllowed waits until the API server lets whoever c acts as do verb on resource
// in namespace, asking it (a SelfSubjectAccessReview, which anyone may send) every
// 100ms for up to timeout. A RoleBinding just made takes effect only once the API
// server's RBAC cache has seen it, so a Helm action sent at once can be refused.
func (c *Client) WaitAllowed(ctx context.Context, namespace, verb, resource string, timeout time.Duration) error {
	cfg, cs, err := c.clientset()
	if err != nil {
		return err
	}
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Resource: resource, Namespace: namespace}}}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		got, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		return got.Status.Allowed, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s to be allowed to %s %s in namespace %s: %w", cfg.Impersonate.UserName, verb, resource, namespace, errors.Join(err, last))
	}
	return nil
}

// clientset talks to the API server as whoever c acts as (cfg says who).
func (c *Client) clientset() (*rest.Config, *kubernetes.Clientset, error) {
	cfg, err := c.Getter.ToRESTConfig()
	if err != nil {
		return nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	return cfg, cs, err
}
