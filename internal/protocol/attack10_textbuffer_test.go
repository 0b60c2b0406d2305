package protocol

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// Attack: strSlow reserves the rest of the input in the parser's text
// buffer and, when the reserve left is smaller than the rest of the input,
// drops the buffer for a new one of that size. The reserve shrinks faster
// than the input only when decoded text outgrows the bytes it came from:
// each invalid UTF-8 byte becomes U+FFFD, three bytes. So an array of
// strings that each hold a few dozen invalid bytes makes nearly every
// string start a fresh buffer of the whole remaining input, and each
// buffer stays alive, because the string decoded into it is part of the
// result. package_data of about 700 KB (what a 1 MiB body holds after
// base64) then pins on the order of 100 MB of heap per request, against
// about 2 MB for encoding/json on the same bytes. Before the shared buffer
// each string was its own allocation, so the result was linear in the
// input. Secure behaviour: what a parse keeps alive stays within a small
// multiple of what encoding/json keeps for the same text.
func TestAttack10TextBufferAmplification(t *testing.T) {
	const size = 700_000
	cases := []struct {
		name    string
		invalid int // invalid UTF-8 bytes per string
	}{
		{"16 invalid bytes per string", 16},
		{"64 invalid bytes per string", 64},
		{"256 invalid bytes per string", 256},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			elem := `"` + strings.Repeat("\xff", tc.invalid) + `"`
			text := []byte("[" + elem + strings.Repeat(","+elem, size/(len(elem)+1)) + "]")

			before := liveHeap()
			ours, err := parseJSON(text)
			if err != nil {
				t.Fatal(err)
			}
			kept := liveHeap() - before
			runtime.KeepAlive(ours)

			before = liveHeap()
			dec := json.NewDecoder(strings.NewReader(string(text)))
			dec.UseNumber()
			var ref any
			if err := dec.Decode(&ref); err != nil {
				t.Fatal(err)
			}
			refKept := liveHeap() - before
			runtime.KeepAlive(ref)

			if limit := 4*refKept + 1<<20; kept > limit {
				t.Fatalf("parsing %d bytes keeps %s of heap alive; encoding/json keeps %s (limit %s)",
					len(text), mib(kept), mib(refKept), mib(limit))
			}
		})
	}
}

// liveHeap is the heap still reachable after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// The same input reaches the parser through Decode: package_data is parsed
// whole before anything about it is checked, so even a request that is
// then refused (here a PING with an unknown member) allocates the buffers.
// A parse that allocates a hundred times its input lets a few concurrent
// requests exhaust memory. Secure behaviour: Decode allocates within a
// small multiple of package_data's size.
func TestAttack10DecodeAllocAmplification(t *testing.T) {
	elem := `"` + strings.Repeat("\xff", 64) + `"`
	junk := "[" + elem + strings.Repeat(","+elem, 700_000/(len(elem)+1)) + "]"
	cases := []struct {
		name string
		data string
	}{
		{"PING with junk", `{"request_id":"r","junk":` + junk + `}`},
		{"KEYSIGN with junk", `{"request_id":"r","request_type":2,"request_detail":"","junk":` + junk + `}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.data)
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			_, _ = Decode(V2, data)
			runtime.ReadMemStats(&m1)
			allocated := int64(m1.TotalAlloc - m0.TotalAlloc)
			if limit := 16 * int64(len(data)); allocated > limit {
				t.Fatalf("Decode of %d bytes allocated %s (limit %s)", len(data), mib(allocated), mib(limit))
			}
		})
	}
}
