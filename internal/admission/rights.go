package admission

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// Rights tells what the writer of an Extension may do: whether it may act as the
// extension's install identity (EXT-IDENTITY-001).
type Rights interface {
	MayActAs(ctx context.Context, user authenticationv1.UserInfo, id v1alpha1.InstallIdentity) (bool, error)
}

// SubjectAccess asks the API server with a SubjectAccessReview, as the API server
// itself would judge the writer: impersonate on the install ServiceAccount, or, when
// Helm acts as the caller, every verb on every resource. Answers are remembered for
// TTL per writer and identity, so a burst of writes (a command's status updates) asks
// once; a revoked grant takes effect within TTL.
type SubjectAccess struct {
	Client authorizationclient.SubjectAccessReviewInterface
	TTL    time.Duration
	cache  *cache.LRUExpireCache
}

// NewSubjectAccess returns a SubjectAccess remembering up to 4096 answers for ttl.
func NewSubjectAccess(c authorizationclient.SubjectAccessReviewInterface, ttl time.Duration) *SubjectAccess {
	return &SubjectAccess{Client: c, TTL: ttl, cache: cache.NewLRUExpireCache(4096)}
}

// MayActAs implements Rights.
func (s *SubjectAccess) MayActAs(ctx context.Context, user authenticationv1.UserInfo, id v1alpha1.InstallIdentity) (bool, error) {
	attrs := &authorizationv1.ResourceAttributes{Verb: "*", Group: "*", Resource: "*"}
	if !id.Caller() {
		attrs = &authorizationv1.ResourceAttributes{Namespace: id.Namespace, Verb: "impersonate", Resource: "serviceaccounts", Name: id.Name}
	}
	key := accessKey(user, attrs)
	if v, ok := s.cache.Get(key); ok {
		return v.(bool), nil
	}
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	review, err := s.Client.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		ResourceAttributes: attrs, User: user.Username, Groups: user.Groups, UID: user.UID, Extra: extra,
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("asking the API server whether %s may act as %s: %w", user.Username, id, err)
	}
	s.cache.Add(key, review.Status.Allowed, s.TTL)
	return review.Status.Allowed, nil
}

// accessKey identifies one question: the whole user (name, uid, groups, extra) and
// the attributes asked about.
func accessKey(user authenticationv1.UserInfo, a *authorizationv1.ResourceAttributes) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q %q %q", user.Username, user.UID, user.Groups)
	for _, k := range slices.Sorted(maps.Keys(user.Extra)) {
		fmt.Fprintf(&b, " %q=%q", k, []string(user.Extra[k]))
	}
	fmt.Fprintf(&b, " | %s %s/%s %s/%s", a.Verb, a.Group, a.Resource, a.Namespace, a.Name)
	return b.String()
}
