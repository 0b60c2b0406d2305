package protocol

import (
	"encoding/json"
	"testing"
)

func TestInt(t *testing.T) {
	tests := []struct {
		in      string
		want    Int
		wantErr bool
	}{
		{`2`, 2, false},
		{`"2"`, 2, false},
		{`-7`, -7, false},
		{`"-7"`, -7, false},
		{`null`, 0, false},
		{`1749983445000`, 1749983445000, false},
		{`9223372036854775807`, 9223372036854775807, false},
		{`9223372036854775808`, 0, true},
		{`"9223372036854775808"`, 0, true},
		{`1.5`, 0, true},
		{`1.0`, 0, true},
		{`1e3`, 0, true},
		{`""`, 0, true},
		{`" 2"`, 0, true},
		{`"+2"`, 0, true},
		{`"0x10"`, 0, true},
		{`"1_000"`, 0, true},
		{`true`, 0, true},
		{`[1]`, 0, true},
		{`{}`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got Int
			err := json.Unmarshal([]byte(tt.in), &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			equal(t, "value", got, tt.want)
		})
	}
}

func TestHexString(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`"0x1acf"`, true},
		{`"0X1ACF"`, true},
		{`"1acf"`, true},
		{`"AbCd"`, true},
		{`"0x"`, false},
		{`""`, false},
		{`"0x1ac"`, false},
		{`"0xzz"`, false},
		{`"0x 1ac"`, false},
		{`"00x1"`, false},
		{`null`, false},
		{`12`, false},
		{`["0x12"]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var h HexString
			err := json.Unmarshal([]byte(tt.in), &h)
			if (err == nil) != tt.ok {
				t.Fatalf("Unmarshal(%s) error = %v, want ok %v", tt.in, err, tt.ok)
			}
			if tt.ok && `"`+string(h)+`"` != tt.in {
				t.Errorf("value %q not kept verbatim", h)
			}
		})
	}
}

func TestAmount(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		set     bool
		wantErr bool
	}{
		{`"0.0001"`, "0.0001", true, false},
		{`0.0001`, "0.0001", true, false},
		{`"100000000000000"`, "100000000000000", true, false},
		{`"-1.5"`, "-1.5", true, false},
		{`null`, "", false, false},
		{`""`, "", false, false},
		{`"1e3"`, "", false, true},
		{`1e3`, "", false, true},
		{`"abc"`, "", false, true},
		{`" 1"`, "", false, true},
		{`true`, "", false, true},
		{`{}`, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var a Amount
			err := json.Unmarshal([]byte(tt.in), &a)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			equal(t, "String", a.String(), tt.want)
			equal(t, "Set", a.Set, tt.set)
		})
	}
	out, err := json.Marshal(struct{ A, B Amount }{A: Amount{Set: false}, B: mustAmount(t, `"1.50"`)})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Marshal", string(out), `{"A":null,"B":"1.5"}`)
}

func mustAmount(t *testing.T, s string) Amount {
	t.Helper()
	var a Amount
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCurve(t *testing.T) {
	tests := []struct {
		in      string
		want    Curve
		name    string
		wantErr bool
	}{
		{`0`, CurveSECP256K1, "SECP256K1", false},
		{`2`, CurveED25519, "ED25519", false},
		{`"2"`, CurveED25519, "ED25519", false},
		{`"SECP256K1"`, CurveSECP256K1, "SECP256K1", false},
		{`"ed25519"`, CurveED25519, "ED25519", false},
		{`1`, 1, "UNKNOWN(1)", false},
		{`null`, CurveSECP256K1, "SECP256K1", false},
		{`"P256"`, 0, "", true},
		{`4294967296`, 0, "", true},
		{`2.0`, 0, "", true},
		{`true`, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var c Curve
			err := json.Unmarshal([]byte(tt.in), &c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if !tt.wantErr {
				equal(t, "Curve", c, tt.want)
				equal(t, "String", c.String(), tt.name)
			}
		})
	}
}

func TestV1EmbeddedJSONRoundTrip(t *testing.T) {
	var x V1KeySignExtra
	in := `{"to_address_details":"[{\"to_address\":\"a\",\"amount\":\"5\"}]","extra_parameters":"{\"inputs_to_spend\":[{\"tx_hash\":\"h\",\"vout_n\":1}]}"}`
	if err := json.Unmarshal([]byte(in), &x); err != nil {
		t.Fatal(err)
	}
	equal(t, "details", len(x.ToAddressDetails), 1)
	equal(t, "amount", x.ToAddressDetails[0].Amount.String(), "5")
	equal(t, "vout", x.ExtraParameters.InputsToSpend[0].VoutN, 1)

	// Marshalling writes the wire form back: strings holding JSON.
	out, err := json.Marshal(struct {
		D V1ToAddressDetails `json:"d"`
		P V1ExtraParameters  `json:"p"`
		E V1ToAddressDetails `json:"e"`
	}{D: x.ToAddressDetails, P: x.ExtraParameters})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Marshal", string(out),
		`{"d":"[{\"to_address\":\"a\",\"amount\":\"5\"}]","p":"{\"inputs_to_spend\":[{\"tx_hash\":\"h\",\"vout_n\":1}],\"inputs_to_exclude\":null}","e":""}`)
}
