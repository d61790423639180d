package cli_test

import "sigs.k8s.io/controller-runtime/pkg/client"

func nameKey(name string) client.ObjectKey { return client.ObjectKey{Name: name} }
