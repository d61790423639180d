package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// The inventory is what the policies know of the cluster besides the write under
// review: its ExtensionTypes and, of its Extensions, only what the rules look up. It
// lives in the engine's OPA store at data.inventory, the way Gatekeeper replicates
// cluster data into OPA, so that a review's input is the write alone and its cost does
// not grow with the cluster:
//
//	types:     {TYPE: the ExtensionType, trains resolved, managedFields dropped}
//	releases:  {NAMESPACE: {RELEASE: [EXTENSION, ...]}}   who holds each Helm release
//	instances: {TYPE: {"cluster": [EXTENSION, ...],       instances of each type
//	                   "namespaces": {NAMESPACE: [EXTENSION, ...]}}}
//
// Each list is sorted. The webhook keeps it current from its informers, the plugin
// loads it from one list per command (ReplaceInventory).

// inventoryPath is data.inventory.
var inventoryPath = storage.Path{"inventory"}

// extKey is what the inventory indexes of one Extension.
type extKey struct {
	typ string
	// scope is "cluster", "namespace", or "" when the scope names neither or both
	// (the API refuses that; such an object is in no instance list).
	scope string
	// scopeNamespace is the scope's release or target namespace.
	scopeNamespace string
	// releaseName and releaseNamespace are where its Helm release lives: status.release
	// when recorded, else its name and scope namespace.
	releaseName, releaseNamespace string
}

func keyOf(e *v1alpha1.Extension) extKey {
	k := extKey{typ: e.Spec.ExtensionType, releaseName: e.Name}
	switch c, n := e.Spec.Scope.Cluster, e.Spec.Scope.Namespace; {
	case c != nil && n == nil:
		k.scope, k.scopeNamespace = "cluster", c.ReleaseNamespace
	case n != nil && c == nil:
		k.scope, k.scopeNamespace = "namespace", n.TargetNamespace
	}
	k.releaseNamespace = k.scopeNamespace
	if r := e.Status.Release; r.Name != "" {
		k.releaseName = r.Name
	}
	if r := e.Status.Release; r.Namespace != "" {
		k.releaseNamespace = r.Namespace
	}
	return k
}

// inventory is the Go side of data.inventory: the indexes, from which the store's
// documents are written. Its mutex orders writers; readers (evaluations) read the
// store under its own transactions.
type inventory struct {
	store storage.Store

	mu    sync.Mutex
	exts  map[string]extKey
	types map[string]bool
	// releases: namespace, release name, extension names.
	releases map[string]map[string][]string
	// cluster: type, extension names; namespaced: type, namespace, extension names.
	cluster    map[string][]string
	namespaced map[string]map[string][]string
}

func newInventory() *inventory {
	inv := &inventory{store: inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))}
	inv.reset()
	// A fresh store takes the empty document at once.
	if err := inv.write(context.Background(), func(ctx context.Context, txn storage.Transaction) error {
		return inv.store.Write(ctx, txn, storage.AddOp, inventoryPath, emptyDocument())
	}); err != nil {
		panic(fmt.Sprintf("policy inventory: %v", err)) // an empty in-memory store refuses nothing
	}
	return inv
}

func (inv *inventory) reset() {
	inv.exts = map[string]extKey{}
	inv.types = map[string]bool{}
	inv.releases = map[string]map[string][]string{}
	inv.cluster = map[string][]string{}
	inv.namespaced = map[string]map[string][]string{}
}

func emptyDocument() ast.Object {
	return ast.NewObject(
		ast.Item(ast.StringTerm("types"), ast.NewTerm(ast.NewObject())),
		ast.Item(ast.StringTerm("releases"), ast.NewTerm(ast.NewObject())),
		ast.Item(ast.StringTerm("instances"), ast.NewTerm(ast.NewObject())),
	)
}

// write runs fn in a write transaction and commits it.
func (inv *inventory) write(ctx context.Context, fn func(context.Context, storage.Transaction) error) error {
	txn, err := inv.store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return err
	}
	if err := fn(ctx, txn); err != nil {
		inv.store.Abort(ctx, txn)
		return err
	}
	return inv.store.Commit(ctx, txn)
}

// put writes value at path, or removes path when value is nil.
func (inv *inventory) put(ctx context.Context, txn storage.Transaction, path storage.Path, value ast.Value) error {
	if value == nil {
		if err := inv.store.Write(ctx, txn, storage.RemoveOp, path, nil); err != nil && !storage.IsNotFound(err) {
			return err
		}
		return nil
	}
	return inv.store.Write(ctx, txn, storage.AddOp, path, value)
}

// setExtension indexes e (nil: forgets the extension called name) and writes the
// documents whose content changed.
func (inv *inventory) setExtension(name string, e *v1alpha1.Extension) (err error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	old, had := inv.exts[name]
	var k extKey
	if e != nil {
		k = keyOf(e)
		if had && old == k {
			return nil // a status or settings write: nothing the rules look up moved
		}
	} else if !had {
		return nil
	}
	if had {
		inv.unindex(name, old)
	}
	if e != nil {
		inv.exts[name] = k
		inv.index(name, k)
	} else {
		delete(inv.exts, name)
	}
	// A refused write leaves the indexes as the store is, so the next event of the
	// extension is applied afresh instead of matching the indexes and being skipped.
	defer func() {
		if err == nil {
			return
		}
		if e != nil {
			inv.unindex(name, k)
			delete(inv.exts, name)
		}
		if had {
			inv.exts[name] = old
			inv.index(name, old)
		}
	}()
	return inv.write(context.Background(), func(ctx context.Context, txn storage.Transaction) error {
		for _, key := range touched(old, had, k, e != nil) {
			for _, path := range key.paths() {
				if err := inv.sync(ctx, txn, path); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// paths are the smallest documents of data.inventory that hold k's entries.
func (k extKey) paths() [][]string {
	var out [][]string
	if k.releaseNamespace != "" {
		out = append(out, []string{"releases", k.releaseNamespace, k.releaseName})
	}
	switch k.scope {
	case "cluster":
		out = append(out, []string{"instances", k.typ, "cluster"})
	case "namespace":
		out = append(out, []string{"instances", k.typ, "namespaces", k.scopeNamespace})
	}
	return out
}

// sync writes the document at path (under data.inventory) from the indexes, so that
// one update rewrites a list, not every list of a namespace or a type: a document
// that became empty is removed with its emptied parent, and a new one whose parent
// does not exist yet is written with its parent.
func (inv *inventory) sync(ctx context.Context, txn storage.Transaction, path []string) error {
	full := append(storage.Path{"inventory"}, path...)
	parent := parentOf(path)
	if inv.emptyAt(path) {
		if err := inv.put(ctx, txn, full, nil); err != nil {
			return err
		}
		if parent != nil && inv.emptyAt(parent) {
			return inv.sync(ctx, txn, parent)
		}
		return nil
	}
	err := inv.store.Write(ctx, txn, storage.AddOp, full, inv.valueAt(path))
	if storage.IsNotFound(err) && parent != nil {
		return inv.sync(ctx, txn, parent)
	}
	return err
}

// parentOf is the document that holds the one at path, nil for a namespace's
// releases or a type's instances, which sit under the fixed roots.
func parentOf(path []string) []string {
	switch {
	case len(path) == 3 && path[0] == "releases":
		return path[:2]
	case len(path) >= 3 && path[0] == "instances":
		return path[:2]
	}
	return nil
}

// emptyAt reports whether the document at path is absent, from the indexes alone.
func (inv *inventory) emptyAt(path []string) bool {
	switch {
	case len(path) == 2 && path[0] == "releases":
		return len(inv.releases[path[1]]) == 0
	case len(path) == 3 && path[0] == "releases":
		return len(inv.releases[path[1]][path[2]]) == 0
	case len(path) == 4 && path[0] == "instances":
		return len(inv.namespaced[path[1]][path[3]]) == 0
	case path[0] == "instances": // a type's document, and its cluster list
		return len(inv.cluster[path[1]]) == 0 && len(inv.namespaced[path[1]]) == 0
	}
	panic(fmt.Sprintf("policy inventory: no document at %v", path))
}

// valueAt is the document at path (under data.inventory) as the indexes have it; it
// is only asked for documents that are not empty.
func (inv *inventory) valueAt(path []string) ast.Value {
	switch {
	case len(path) == 2 && path[0] == "releases":
		return inv.releasesValue(path[1])
	case len(path) == 3 && path[0] == "releases":
		return namesArray(inv.releases[path[1]][path[2]])
	case len(path) == 2 && path[0] == "instances":
		return inv.instancesValue(path[1])
	case len(path) == 3 && path[0] == "instances":
		return namesArray(inv.cluster[path[1]])
	case len(path) == 4 && path[0] == "instances":
		return namesArray(inv.namespaced[path[1]][path[3]])
	}
	panic(fmt.Sprintf("policy inventory: no document at %v", path))
}

// touched lists the keys whose documents a change touched: the old one, and the new
// one when it differs.
func touched(old extKey, had bool, k extKey, has bool) []extKey {
	var out []extKey
	if had {
		out = append(out, old)
	}
	if has && (!had || old != k) {
		out = append(out, k)
	}
	return out
}

func (inv *inventory) index(name string, k extKey) {
	if k.releaseNamespace != "" {
		byName := inv.releases[k.releaseNamespace]
		if byName == nil {
			byName = map[string][]string{}
			inv.releases[k.releaseNamespace] = byName
		}
		byName[k.releaseName] = insertSorted(byName[k.releaseName], name)
	}
	switch k.scope {
	case "cluster":
		inv.cluster[k.typ] = insertSorted(inv.cluster[k.typ], name)
	case "namespace":
		byNS := inv.namespaced[k.typ]
		if byNS == nil {
			byNS = map[string][]string{}
			inv.namespaced[k.typ] = byNS
		}
		byNS[k.scopeNamespace] = insertSorted(byNS[k.scopeNamespace], name)
	}
}

func (inv *inventory) unindex(name string, k extKey) {
	if byName := inv.releases[k.releaseNamespace]; byName != nil {
		if byName[k.releaseName] = remove(byName[k.releaseName], name); len(byName[k.releaseName]) == 0 {
			delete(byName, k.releaseName)
		}
		if len(byName) == 0 {
			delete(inv.releases, k.releaseNamespace)
		}
	}
	switch k.scope {
	case "cluster":
		if inv.cluster[k.typ] = remove(inv.cluster[k.typ], name); len(inv.cluster[k.typ]) == 0 {
			delete(inv.cluster, k.typ)
		}
	case "namespace":
		if byNS := inv.namespaced[k.typ]; byNS != nil {
			if byNS[k.scopeNamespace] = remove(byNS[k.scopeNamespace], name); len(byNS[k.scopeNamespace]) == 0 {
				delete(byNS, k.scopeNamespace)
			}
			if len(byNS) == 0 {
				delete(inv.namespaced, k.typ)
			}
		}
	}
}

// releasesValue is data.inventory.releases[ns], nil when no release lives there.
func (inv *inventory) releasesValue(ns string) ast.Value {
	byName := inv.releases[ns]
	if len(byName) == 0 {
		return nil
	}
	return namesObject(byName)
}

// instancesValue is data.inventory.instances[typ], nil when the type has none.
func (inv *inventory) instancesValue(typ string) ast.Value {
	c, n := inv.cluster[typ], inv.namespaced[typ]
	if len(c) == 0 && len(n) == 0 {
		return nil
	}
	return ast.NewObject(
		ast.Item(ast.StringTerm("cluster"), ast.NewTerm(namesArray(c))),
		ast.Item(ast.StringTerm("namespaces"), ast.NewTerm(namesObject(n))),
	)
}

func namesObject(m map[string][]string) ast.Object {
	obj := ast.NewObject()
	for _, k := range sortedKeys(m) {
		obj.Insert(ast.StringTerm(k), ast.NewTerm(namesArray(m[k])))
	}
	return obj
}

func namesArray(names []string) *ast.Array {
	terms := make([]*ast.Term, len(names))
	for i, n := range names {
		terms[i] = ast.StringTerm(n)
	}
	return ast.NewArray(terms...)
}

// setType stores t (nil: forgets the type called name).
func (inv *inventory) setType(name string, t *v1alpha1.ExtensionType) error {
	var v ast.Value
	if t != nil {
		var err error
		if v, err = typeValue(t); err != nil {
			return err
		}
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if t == nil {
		if !inv.types[name] {
			return nil
		}
		delete(inv.types, name)
	} else {
		inv.types[name] = true
	}
	return inv.write(context.Background(), func(ctx context.Context, txn storage.Transaction) error {
		return inv.put(ctx, txn, storage.Path{"inventory", "types", name}, v)
	})
}

// typeValue is t as the policies read it: its trains spelled out (ResolveTrains), so
// the rules read the train rule of internal/api/v1alpha1 instead of restating it.
func typeValue(t *v1alpha1.ExtensionType) (ast.Value, error) {
	t = t.ResolveTrains()
	if t.ManagedFields != nil {
		c := *t
		c.ManagedFields = nil
		t = &c
	}
	data, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("extension type %s: %w", t.Name, err)
	}
	return ast.ValueFromReader(bytes.NewReader(data))
}

// replace rebuilds the inventory from exts and types in one write.
func (inv *inventory) replace(exts []v1alpha1.Extension, types []v1alpha1.ExtensionType) error {
	typeValues := make(map[string]ast.Value, len(types))
	for i := range types {
		v, err := typeValue(&types[i])
		if err != nil {
			return err
		}
		typeValues[types[i].Name] = v
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.reset()
	for i := range exts {
		k := keyOf(&exts[i])
		inv.exts[exts[i].Name] = k
		inv.index(exts[i].Name, k)
	}
	doc := emptyDocument()
	typesObj := doc.Get(ast.StringTerm("types")).Value.(ast.Object)
	for _, name := range sortedKeys(typeValues) {
		inv.types[name] = true
		typesObj.Insert(ast.StringTerm(name), ast.NewTerm(typeValues[name]))
	}
	doc.Insert(ast.StringTerm("releases"), ast.NewTerm(releasesObject(inv.releases)))
	instances := ast.NewObject()
	typs := map[string]bool{}
	for t := range inv.cluster {
		typs[t] = true
	}
	for t := range inv.namespaced {
		typs[t] = true
	}
	for _, t := range sortedKeys(typs) {
		instances.Insert(ast.StringTerm(t), ast.NewTerm(inv.instancesValue(t)))
	}
	doc.Insert(ast.StringTerm("instances"), ast.NewTerm(instances))
	return inv.write(context.Background(), func(ctx context.Context, txn storage.Transaction) error {
		return inv.store.Write(ctx, txn, storage.ReplaceOp, inventoryPath, doc)
	})
}

func releasesObject(m map[string]map[string][]string) ast.Object {
	obj := ast.NewObject()
	for _, k := range sortedKeys(m) {
		obj.Insert(ast.StringTerm(k), ast.NewTerm(namesObject(m[k])))
	}
	return obj
}

// document reads data.inventory as JSON, converted inside the read transaction: a
// commit changes the store's objects in place.
func (inv *inventory) document(ctx context.Context) ([]byte, error) {
	txn, err := inv.store.NewTransaction(ctx)
	if err != nil {
		return nil, err
	}
	defer inv.store.Abort(ctx, txn)
	v, err := inv.store.Read(ctx, txn, inventoryPath)
	if err != nil {
		return nil, err
	}
	if av, ok := v.(ast.Value); ok {
		if v, err = ast.JSON(av); err != nil {
			return nil, err
		}
	}
	return json.Marshal(v)
}

func insertSorted(names []string, name string) []string {
	i, found := slices.BinarySearch(names, name)
	if found {
		return names
	}
	return slices.Insert(names, i, name)
}

func remove(names []string, name string) []string {
	if i, found := slices.BinarySearch(names, name); found {
		return slices.Delete(names, i, i+1)
	}
	return names
}
