package protocol

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The ETH legacy vector of PROTOCOL.md 8.3, which the KEYSIGN samples use.
const (
	ethRawTx       = "0xe980842ffee68f825208940f76f604fd7762bd94b48ca2523f69ab9665c97f865af3107a400080018080"
	ethMsgHash     = "0x1acf0342f77d22389a9cf6524a2af14dc420928d2942efe0dc0764be2ea5321b"
	ethDestination = "0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// packageData encodes a CallbackRequest the way a TSS Node does.
func packageData(t testing.TB, id string, typ RequestType, detail, extra []byte) []byte {
	t.Helper()
	b, err := json.Marshal(NewCallbackRequest(id, typ, detail, extra))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// samplePackage is the package_data of a built-in sample.
func samplePackage(t testing.TB, v Version, typ RequestType, id string) []byte {
	t.Helper()
	detail, extra, err := Sample(v, typ)
	if err != nil {
		t.Fatal(err)
	}
	return packageData(t, id, typ, detail, extra)
}

// mutated is the package_data of a sample (request_id "req-1") after edit
// has changed its parsed detail and extra objects.
func mutated(t testing.TB, v Version, typ RequestType, edit func(detail, extra map[string]any)) []byte {
	t.Helper()
	detail, extra, err := Sample(v, typ)
	if err != nil {
		t.Fatal(err)
	}
	var d, x map[string]any
	if err := json.Unmarshal(detail, &d); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(extra, &x); err != nil {
		t.Fatal(err)
	}
	edit(d, x)
	return packageData(t, "req-1", typ, mustJSON(t, d), mustJSON(t, x))
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// path walks nested objects of a parsed sample, for edits.
func path(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

func decodeOK(t testing.TB, v Version, data []byte) *Request {
	t.Helper()
	r, err := Decode(v, data)
	if err != nil {
		t.Fatalf("Decode(%s): %v\npackage_data: %s", v, err, data)
	}
	if err := checkConsistent(r, data); err != nil {
		t.Fatal(err)
	}
	return r
}

// checkConsistent asserts the invariants Decode promises for a success.
func checkConsistent(r *Request, data []byte) error {
	if r.Version != V1 && r.Version != V2 {
		return errors.New("bad version " + string(r.Version))
	}
	if !r.Type.Known() {
		return errors.New("decoded an unknown type " + r.Type.String())
	}
	if string(r.Raw) != string(data) {
		return errors.New("Raw differs from the input")
	}
	views := 0
	for _, v := range []any{r.KeyGen, r.KeySign, r.KeyReshare, r.KeyShareSign} {
		if !reflect.ValueOf(v).IsNil() {
			views++
		}
	}
	if r.Type == TypePing {
		if views != 0 || r.Wire != nil || r.Detail != nil || r.Extra != nil {
			return errors.New("PING carries a payload")
		}
		return nil
	}
	if views != 1 || r.Wire == nil {
		return errors.New("non-PING request without exactly one typed view")
	}
	if r.ID == "" {
		return errors.New("non-PING request without an ID")
	}
	if r.Detail == nil {
		return errors.New("non-PING request without detail")
	}
	ok := false
	switch r.Type {
	case TypeKeyGen:
		ok = r.KeyGen != nil
	case TypeKeySign:
		ok = r.KeySign != nil
		if ok && r.KeySign.Tx != nil {
			sum := r.KeySign.Tx.Amount
			for _, d := range r.KeySign.Tx.Destinations {
				if d.Amount.Sign() < 0 {
					return errors.New("negative destination amount")
				}
				sum = sum.Sub(d.Amount)
			}
			if !sum.IsZero() {
				return errors.New("Tx.Amount is not the sum of its destinations")
			}
		}
	case TypeKeyReshare:
		ok = r.KeyReshare != nil
	case TypeKeyShareSign:
		ok = r.KeyShareSign != nil
	}
	if !ok {
		return errors.New("typed view does not match Type " + r.Type.String())
	}
	return nil
}

// wantDecodeError asserts that data fails with a *DecodeError whose reason
// contains reason and which echoes id.
func wantDecodeError(t testing.TB, v Version, data []byte, id, reason string) {
	t.Helper()
	r, err := Decode(v, data)
	if err == nil {
		t.Fatalf("Decode succeeded (type %s), want error containing %q\npackage_data: %s", r.Type, reason, data)
	}
	if r != nil {
		t.Errorf("Decode returned a request with its error")
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %T %v is not a *DecodeError", err, err)
	}
	if !strings.Contains(de.Reason, reason) {
		t.Errorf("reason %q does not contain %q", de.Reason, reason)
	}
	if de.RequestID != id {
		t.Errorf("RequestID = %q, want %q", de.RequestID, id)
	}
	if err.Error() != "invalid request: "+de.Reason {
		t.Errorf("Error() = %q", err.Error())
	}
}

func equalStrings(t testing.TB, field string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %q, want %q", field, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s = %q, want %q", field, got, want)
			return
		}
	}
}

func equal[T comparable](t testing.TB, field string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", field, got, want)
	}
}
