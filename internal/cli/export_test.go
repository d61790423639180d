package cli

import "k8s.io/apimachinery/pkg/api/meta"

// KnownRESTMappings returns how the plugin maps the kinds it maps without discovery.
func KnownRESTMappings() ([]*meta.RESTMapping, error) {
	m := knownMapper()
	var out []*meta.RESTMapping
	for _, k := range knownKinds {
		r, err := m.RESTMapping(k.gvk.GroupKind(), k.gvk.Version)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
