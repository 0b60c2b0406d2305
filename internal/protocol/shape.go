package protocol

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// A request's version is the endpoint it arrived on; package_data does not
// say. A node whose callback entry points at the wrong endpoint (a WaaS 1.0
// node listing /v2/check, or a WaaS 2.0 node listing /v1/check) sends
// payloads whose members the typed decoder ignores as unknown, so without
// this check they would decode as a nearly empty request and be decided on
// what is missing. wrongVersion recognises the other version's shape
// instead, and the request is refused with a reason saying where the node
// should point.

// versionOnly[v][t] lists the member names ("request_detail.biz_task_id",
// "extra_info.cobo_id") that version v's typed shapes of type t have and
// the other version's do not. It is derived from the wire structs, so it
// cannot drift from what Decode reads. KEYSHARESIGN, read with the v2 shapes
// in both versions, has no entry.
var versionOnly = func() map[Version]map[RequestType][]string {
	out := map[Version]map[RequestType][]string{V1: {}, V2: {}}
	for _, t := range []RequestType{TypeKeyGen, TypeKeySign, TypeKeyReshare} {
		n1, n2 := shapeNames(newWire(V1, t)), shapeNames(newWire(V2, t))
		out[V1][t] = minus(n1, n2)
		out[V2][t] = minus(n2, n1)
	}
	return out
}()

// shapeNames returns the part-qualified JSON member names of a typed
// payload's detail and extra structs.
func shapeNames(w wirePayload) map[string]bool {
	names := map[string]bool{}
	d, x := w.parts()
	for _, p := range []struct {
		part string
		typ  reflect.Type
	}{{"request_detail", reflect.TypeOf(d).Elem()}, {"extra_info", reflect.TypeOf(x).Elem()}} {
		for f := range p.typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				names[p.part+"."+name] = true
			}
		}
	}
	return names
}

// minus returns the sorted names in a and not in b.
func minus(a, b map[string]bool) []string {
	var out []string
	for n := range a {
		if !b[n] {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// wrongVersion returns a reason when detail and extra, which arrived at
// version v's endpoint, have the other version's shape for type t: at
// least one member only the other version has, and none that only v has.
// A request with members of both, or of neither, is left to the typed
// decoder, so a genuine request is never refused for a stray member.
func wrongVersion(v Version, t RequestType, detail, extra map[string]any) string {
	other := V2
	if v == V2 {
		other = V1
	}
	has := func(n string) bool {
		part, member, _ := strings.Cut(n, ".")
		obj := detail
		if part == "extra_info" {
			obj = extra
		}
		_, ok := obj[member]
		return ok
	}
	present := func(names []string) []string {
		var got []string
		for _, n := range names {
			if has(n) {
				got = append(got, n)
			}
		}
		return got
	}
	// The common case, a request of this version, is settled without
	// building a list.
	if slices.ContainsFunc(versionOnly[v][t], has) {
		return ""
	}
	theirs := present(versionOnly[other][t])
	if len(theirs) == 0 {
		return ""
	}
	if len(theirs) > 3 {
		theirs = append(theirs[:3], "...")
	}
	return fmt.Sprintf("%s has the %s shape (%s) but arrived at %s: %s",
		t, versionName(other), strings.Join(theirs, ", "), v.Path(), endpointAdvice(other))
}

// versionName spells a version as Cobo's documents do.
func versionName(v Version) string {
	if v == V1 {
		return "v1 (WaaS 1.0)"
	}
	return "v2 (WaaS 2.0)"
}

// endpointAdvice says where a node of version v must point its callback
// entry (the TSS Node's configs/cobo-tss-node-config.yaml).
func endpointAdvice(v Version) string {
	if v == V1 {
		return "a WaaS 1.0 node lists tssgate under callback.cb_server with service_address ending in " + PathV1
	}
	return "a WaaS 2.0 node lists tssgate under callback.cb_server_v2 with service_address ending in " + PathV2
}
