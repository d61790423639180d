package webhook

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// Key names in the self-managed certificate Secret (cert-controller's defaults).
const (
	secretCertKey = "tls.crt"
	secretKeyKey  = "tls.key"
)

// certFiles copies the serving certificate and key of the self-managed Secret into the
// cert dir whenever cert-controller writes them; the webhook server's certificate
// watcher then serves them without a restart.
//
// cert-controller expects the kubelet to project the Secret into the cert dir. That
// works only in a pod, and a rotation reaches the files only after the kubelet's sync
// period (a minute or more), during which the caBundle already names the new CA. Writing
// the files from the same watch closes both gaps; the Deployment mounts an emptyDir.
type certFiles struct {
	dir        string
	secretName string
	cache      cache.Cache
	log        logr.Logger
}

// Start watches the Secret through the manager's cache (scoped to its namespace and
// name) until ctx is cancelled.
func (c *certFiles) Start(ctx context.Context) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("creating the cert dir: %w", err)
	}
	inf, err := c.cache.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return fmt.Errorf("watching the certificate Secret: %w", err)
	}
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.sync(obj) },
		UpdateFunc: func(_, obj any) { c.sync(obj) },
	})
	if err != nil {
		return err
	}
	<-ctx.Done()
	return inf.RemoveEventHandler(reg)
}

func (c *certFiles) sync(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok || s.Name != c.secretName {
		return
	}
	crt, key := s.Data[secretCertKey], s.Data[secretKeyKey]
	if len(crt) == 0 || len(key) == 0 {
		return // not generated yet
	}
	changed, err := writeCertPair(c.dir, crt, key)
	if err != nil {
		c.log.Error(err, "writing the serving certificate", "dir", c.dir)
		return
	}
	if changed {
		c.log.Info("serving certificate updated", "dir", c.dir, "secretResourceVersion", s.ResourceVersion)
	}
}

// dataLink names the symlink to the directory holding the current pair, as in the
// kubelet's Secret volumes: tls.crt and tls.key link through it, and one rename of the
// link switches both files at once. A reader never sees a new certificate beside the
// old key.
const dataLink = "..data"

// writeCertPair makes dir/tls.crt and dir/tls.key hold crt and key, switching both
// at once. It reports whether they changed.
func writeCertPair(dir string, crt, key []byte) (bool, error) {
	oldCrt, errCrt := os.ReadFile(filepath.Join(dir, secretCertKey))
	oldKey, errKey := os.ReadFile(filepath.Join(dir, secretKeyKey))
	if errCrt == nil && errKey == nil && bytes.Equal(oldCrt, crt) && bytes.Equal(oldKey, key) {
		return false, nil
	}
	gen, err := os.MkdirTemp(dir, "..pair-")
	if err != nil {
		return false, err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{secretCertKey, crt, 0o644}, {secretKeyKey, key, 0o600}} {
		if err := os.WriteFile(filepath.Join(gen, f.name), f.data, f.mode); err != nil {
			os.RemoveAll(gen)
			return false, err
		}
	}
	previous, _ := os.Readlink(filepath.Join(dir, dataLink))
	if err := replaceSymlink(filepath.Base(gen), filepath.Join(dir, dataLink)); err != nil {
		os.RemoveAll(gen)
		return false, err
	}
	for _, name := range []string{secretCertKey, secretKeyKey} {
		target := filepath.Join(dataLink, name)
		if t, err := os.Readlink(filepath.Join(dir, name)); err == nil && t == target {
			continue
		}
		if err := replaceSymlink(target, filepath.Join(dir, name)); err != nil {
			return false, err
		}
	}
	// Removing the previous pair is what tells a watcher of the old files to re-read.
	if previous != "" && previous != filepath.Base(gen) {
		if err := os.RemoveAll(filepath.Join(dir, previous)); err != nil {
			return true, err
		}
	}
	return true, nil
}

// replaceSymlink points path at target, atomically replacing whatever path was.
func replaceSymlink(target, path string) error {
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
