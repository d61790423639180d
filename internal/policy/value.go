package policy

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// toValue converts x to the Rego value that encoding/json followed by
// ast.ValueFromReader would give, without the round trip through JSON text: a review
// builds its input this way. Types that marshal themselves (metav1.Time, Quantity)
// still go through their MarshalJSON; TestToValueMatchesJSON holds the two paths
// equal on randomly filled inputs.
func toValue(x any) (ast.Value, error) {
	return valueOf(reflect.ValueOf(x))
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	jsonNumber    = reflect.TypeFor[json.Number]()
	zeroer        = reflect.TypeFor[interface{ IsZero() bool }]()
	metaTime      = reflect.TypeFor[metav1.Time]()
)

func valueOf(v reflect.Value) (ast.Value, error) {
	if !v.IsValid() {
		return ast.NullValue, nil
	}
	t := v.Type()
	switch t {
	case jsonNumber:
		return viaJSON(v)
	case metaTime:
		// What metav1.Time.MarshalJSON writes, without the JSON text: every object
		// has a creationTimestamp.
		mt := v.Interface().(metav1.Time)
		if mt.IsZero() {
			return ast.NullValue, nil
		}
		return ast.String(mt.UTC().Format(time.RFC3339)), nil
	}
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
		if v.IsNil() {
			return ast.NullValue, nil
		}
		return valueOf(v.Elem())
	}
	// A type that marshals itself, as encoding/json calls it: methods on the pointer
	// only when the value is addressable.
	if t.Implements(jsonMarshaler) || t.Implements(textMarshaler) {
		return viaJSON(v)
	}
	if v.CanAddr() && (reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)) {
		return viaJSON(v.Addr())
	}
	switch t.Kind() {
	case reflect.Bool:
		return ast.Boolean(v.Bool()), nil
	case reflect.String:
		return ast.String(validUTF8(v.String())), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return ast.Number(strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return ast.Number(strconv.FormatUint(v.Uint(), 10)), nil
	case reflect.Slice:
		if v.IsNil() {
			return ast.NullValue, nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return ast.String(base64.StdEncoding.EncodeToString(v.Bytes())), nil
		}
		fallthrough
	case reflect.Array:
		terms := make([]*ast.Term, v.Len())
		for i := range terms {
			e, err := valueOf(v.Index(i))
			if err != nil {
				return nil, err
			}
			terms[i] = ast.NewTerm(e)
		}
		return ast.NewArray(terms...), nil
	case reflect.Map:
		if v.IsNil() {
			return ast.NullValue, nil
		}
		if t.Key().Kind() != reflect.String {
			return viaJSON(v)
		}
		items := make([][2]*ast.Term, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			e, err := valueOf(it.Value())
			if err != nil {
				return nil, err
			}
			items = append(items, [2]*ast.Term{ast.StringTerm(validUTF8(it.Key().String())), ast.NewTerm(e)})
		}
		return ast.NewObject(items...), nil
	case reflect.Struct:
		plan, ok := structPlan(t)
		if !ok {
			return viaJSON(v)
		}
		items := make([][2]*ast.Term, 0, len(plan))
		for i := range plan {
			f := &plan[i]
			fv := v.FieldByIndex(f.index)
			if (f.omitEmpty && isEmpty(fv)) || (f.omitZero && isZero(fv)) {
				continue
			}
			e, err := valueOf(fv)
			if err != nil {
				return nil, err
			}
			items = append(items, [2]*ast.Term{f.key, ast.NewTerm(e)})
		}
		return ast.NewObject(items...), nil
	}
	// Floats, complex numbers, channels and functions: what encoding/json says.
	return viaJSON(v)
}

func viaJSON(v reflect.Value) (ast.Value, error) {
	data, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, fmt.Errorf("encode policy input: %w", err)
	}
	return ast.ValueFromReader(bytes.NewReader(data))
}

// field is one JSON member of a struct: where it is, and its name.
type field struct {
	key       *ast.Term
	index     []int
	omitEmpty bool
	omitZero  bool
}

var plans sync.Map // reflect.Type → []field, or nil when encoding/json must do it

// structPlan lists t's JSON members in encoding/json's order, following its rules for
// tags and embedded structs. It declines (false) what it does not follow: a ",string"
// option, a name two embedded fields both promote, an embedded pointer.
func structPlan(t reflect.Type) ([]field, bool) {
	if p, ok := plans.Load(t); ok {
		fs := p.([]field)
		return fs, fs != nil
	}
	fs, ok := buildPlan(t, nil, map[string]bool{})
	if !ok {
		fs = nil
	}
	plans.Store(t, fs)
	return fs, ok
}

func buildPlan(t reflect.Type, prefix []int, seen map[string]bool) ([]field, bool) {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		index := append(append([]int(nil), prefix...), i)
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				return nil, false
			}
			if ft.Kind() == reflect.Struct {
				inner, ok := buildPlan(ft, index, seen)
				if !ok {
					return nil, false
				}
				out = append(out, inner...)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if strings.Contains(","+opts+",", ",string,") {
			return nil, false
		}
		if name == "" {
			name = sf.Name
		}
		if seen[name] {
			return nil, false
		}
		seen[name] = true
		out = append(out, field{
			key:       ast.StringTerm(name),
			index:     index,
			omitEmpty: strings.Contains(","+opts+",", ",omitempty,"),
			omitZero:  strings.Contains(","+opts+",", ",omitzero,"),
		})
	}
	return out, true
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isZero is encoding/json's omitzero test: the type's IsZero method when it has one.
func isZero(v reflect.Value) bool {
	if v.Type().Implements(zeroer) {
		if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
			return true
		}
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	}
	if reflect.PointerTo(v.Type()).Implements(zeroer) {
		if !v.CanAddr() { // encoding/json calls it on a copy
			c := reflect.New(v.Type()).Elem()
			c.Set(v)
			v = c
		}
		return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}

// validUTF8 is s as encoding/json writes it: each invalid byte becomes U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s { // an invalid byte ranges as utf8.RuneError, one byte wide
		b.WriteRune(r)
	}
	return b.String()
}
