package decimal

import (
	"encoding/json"
	"errors"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // String() of the result
	}{
		{"zero", "0", "0"},
		{"negative zero", "-0", "0"},
		{"zero with fraction", "0.000", "0"},
		{"integer", "100", "100"},
		{"plus sign", "+2", "2"},
		{"negative fraction", "-1.50", "-1.5"},
		{"small fraction", "-0.001", "-0.001"},
		{"leading zeros", "007.10", "7.1"},
		{"eth amount", "0.0001", "0.0001"},
		{"wei", "100000000000000", "100000000000000"},
		{"uint256 max", "115792089237316195423570985008687907853269984665640564039457584007913129639935", "115792089237316195423570985008687907853269984665640564039457584007913129639935"},
		{"max digits", strings.Repeat("9", MaxDigits), strings.Repeat("9", MaxDigits)},
		{"max digits with dot", "0." + strings.Repeat("1", MaxDigits-1), "0." + strings.Repeat("1", MaxDigits-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := d.String(); got != tt.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"sign only", "-"},
		{"plus only", "+"},
		{"leading dot", ".5"},
		{"trailing dot", "5."},
		{"dot only", "."},
		{"exponent", "1e-3"},
		{"upper exponent", "1E3"},
		{"NaN", "NaN"},
		{"Inf", "Inf"},
		{"infinity", "-Infinity"},
		{"leading space", " 1"},
		{"trailing space", "1 "},
		{"inner space", "1 000"},
		{"hex", "0x10"},
		{"two dots", "1.2.3"},
		{"two signs", "--1"},
		{"sign after digits", "1-"},
		{"underscore", "1_000"},
		{"comma", "1,5"},
		{"letters", "abc"},
		{"unicode digit", "١"},
		{"too many digits", strings.Repeat("1", MaxDigits+1)},
		{"too many digits with dot", strings.Repeat("1", MaxDigits) + ".1"},
		{"very long", strings.Repeat("9", 10000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error", tt.in, d)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%q) error %v does not wrap ErrSyntax", tt.in, err)
			}
			if len(err.Error()) > 150 {
				t.Errorf("Parse error not truncated: %d bytes", len(err.Error()))
			}
		})
	}
}

func TestZeroValue(t *testing.T) {
	var z Decimal
	if !z.IsZero() || z.Sign() != 0 || z.String() != "0" {
		t.Errorf("zero value: IsZero=%v Sign=%d String=%q", z.IsZero(), z.Sign(), z.String())
	}
	if z.Cmp(MustParse("0.00")) != 0 {
		t.Error("zero value != 0.00")
	}
	if got := z.Add(MustParse("1.5")).String(); got != "1.5" {
		t.Errorf("0 + 1.5 = %s", got)
	}
}

func TestAddSub(t *testing.T) {
	tests := []struct {
		name       string
		a, b       string
		sum, delta string
	}{
		{"integers", "1", "2", "3", "-1"},
		{"mixed scale", "1.5", "0.25", "1.75", "1.25"},
		{"cancel to zero", "1.10", "-1.1", "0", "2.2"},
		{"negative", "-0.001", "-0.002", "-0.003", "0.001"},
		{"wei precision", "0.000000000000000001", "1", "1.000000000000000001", "-0.999999999999999999"},
		{"large", "115792089237316195423570985008687907853269984665640564039457584007913129639935", "1", "115792089237316195423570985008687907853269984665640564039457584007913129639936", "115792089237316195423570985008687907853269984665640564039457584007913129639934"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := MustParse(tt.a), MustParse(tt.b)
			if got := a.Add(b).String(); got != tt.sum {
				t.Errorf("%s + %s = %s, want %s", tt.a, tt.b, got, tt.sum)
			}
			if got := a.Sub(b).String(); got != tt.delta {
				t.Errorf("%s - %s = %s, want %s", tt.a, tt.b, got, tt.delta)
			}
			// Operands are untouched.
			if a.String() != MustParse(tt.a).String() || b.String() != MustParse(tt.b).String() {
				t.Errorf("operands modified: %s, %s", a, b)
			}
		})
	}
}

func TestCmp(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"equal different scale", "1.50", "1.5", 0},
		{"equal zeros", "0", "-0.000", 0},
		{"less", "0.0001", "0.001", -1},
		{"greater", "2", "1.999999999999999999", 1},
		{"negative less", "-2", "1", -1},
		{"negative greater", "-1", "-2", 1},
		{"positive vs zero", "0.0000001", "0", 1},
		{"negative vs zero", "-0.0000001", "0", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MustParse(tt.a).Cmp(MustParse(tt.b)); got != tt.want {
				t.Errorf("Cmp(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := MustParse(tt.b).Cmp(MustParse(tt.a)); got != -tt.want {
				t.Errorf("Cmp(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name  string
		coef  int64
		scale int32
		want  string
	}{
		{"zero", 0, 5, "0"},
		{"integer", 100, 0, "100"},
		{"negative scale", 15, -3, "15000"},
		{"negative with negative scale", -15, -2, "-1500"},
		{"pad leading zeros", 1, 3, "0.001"},
		{"negative pad", -1, 3, "-0.001"},
		{"trim trailing zeros", 1500, 3, "1.5"},
		{"trim to integer", 1000, 3, "1"},
		{"exact digits", 123, 3, "0.123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(big.NewInt(tt.coef), tt.scale)
			if got := d.String(); got != tt.want {
				t.Errorf("New(%d, %d).String() = %q, want %q", tt.coef, tt.scale, got, tt.want)
			}
			back, err := Parse(d.String())
			if err != nil {
				t.Fatalf("Parse(String()): %v", err)
			}
			if back.Cmp(d) != 0 {
				t.Errorf("round trip %q gave %s", d.String(), back)
			}
		})
	}
}

func TestNewCopies(t *testing.T) {
	c := big.NewInt(42)
	d := New(c, 1)
	c.SetInt64(7)
	if d.String() != "4.2" {
		t.Errorf("New shares its argument: got %s after caller changed it", d)
	}
	units, ok := d.BaseUnits(1)
	if !ok {
		t.Fatal("BaseUnits(1) not ok")
	}
	units.SetInt64(0)
	if d.String() != "4.2" {
		t.Errorf("BaseUnits result shares storage: got %s", d)
	}
}

func TestScaleBounds(t *testing.T) {
	for _, scale := range []int32{MaxScale + 1, -MaxScale - 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New with scale %d did not panic", scale)
				}
			}()
			New(big.NewInt(1), scale)
		}()
	}
	if _, ok := MustParse("1").BaseUnits(MaxScale + 1); ok {
		t.Error("BaseUnits beyond MaxScale reported ok")
	}
}

func TestJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"string", `"1.5"`, "1.5"},
		{"string trailing zeros", `"1.500"`, "1.5"},
		{"string escaped", `"\u0031.5"`, "1.5"},
		{"number", `1.5`, "1.5"},
		{"negative number", `-0.001`, "-0.001"},
		{"number beyond float64", `0.30000000000000000000000000001`, "0.30000000000000000000000000001"},
		{"big integer number", `123456789012345678901234567890`, "123456789012345678901234567890"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decimal
			if err := json.Unmarshal([]byte(tt.in), &d); err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.in, err)
			}
			if d.String() != tt.want {
				t.Errorf("Unmarshal(%s) = %s, want %s", tt.in, d, tt.want)
			}
			out, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != `"`+tt.want+`"` {
				t.Errorf("Marshal = %s, want %q", out, tt.want)
			}
		})
	}
}

func TestJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"null", `null`},
		{"exponent number", `1e3`},
		{"exponent string", `"1e3"`},
		{"empty string", `""`},
		{"bool", `true`},
		{"object", `{}`},
		{"array", `["1"]`},
		{"spaces in string", `" 1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decimal
			err := json.Unmarshal([]byte(tt.in), &d)
			if err == nil {
				t.Fatalf("Unmarshal(%s) = %s, want error", tt.in, d)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Unmarshal(%s) error %v does not wrap ErrSyntax", tt.in, err)
			}
		})
	}
}

func TestJSONInStruct(t *testing.T) {
	var v struct {
		Amount   Decimal  `json:"amount"`
		Optional *Decimal `json:"optional"`
	}
	if err := json.Unmarshal([]byte(`{"amount":"0.0001","optional":null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.Amount.String() != "0.0001" || v.Optional != nil {
		t.Errorf("got amount %s optional %v", v.Amount, v.Optional)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"amount":"0.0001","optional":null}` {
		t.Errorf("Marshal = %s", out)
	}
}

func TestBaseUnits(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		decimals int32
		want     string
		ok       bool
	}{
		{"eth to wei", "0.0001", 18, "100000000000000", true},
		{"btc to sat", "1", 8, "100000000", true},
		{"trailing zeros beyond decimals", "1.500", 1, "15", true},
		{"too precise", "1.05", 1, "", false},
		{"zero decimals", "42", 0, "42", true},
		{"negative", "-0.5", 2, "-50", true},
		{"negative too precise", "-0.505", 2, "", false},
		{"zero", "0.000", 0, "0", true},
		{"negative decimals", "1500", -3, "", false},
		{"negative decimals exact", "15000", -3, "15", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MustParse(tt.in).BaseUnits(tt.decimals)
			if ok != tt.ok {
				t.Fatalf("BaseUnits(%s, %d) ok = %v, want %v", tt.in, tt.decimals, ok, tt.ok)
			}
			if !ok {
				if got != nil {
					t.Errorf("not ok but result %v", got)
				}
				return
			}
			if got.String() != tt.want {
				t.Errorf("BaseUnits(%s, %d) = %s, want %s", tt.in, tt.decimals, got, tt.want)
			}
			if back := FromBaseUnits(got, tt.decimals); back.Cmp(MustParse(tt.in)) != 0 {
				t.Errorf("FromBaseUnits(%s, %d) = %s, want %s", got, tt.decimals, back, tt.in)
			}
		})
	}
}

func TestFromBaseUnits(t *testing.T) {
	wei, _ := new(big.Int).SetString("100000000000000", 10)
	if got := FromBaseUnits(wei, 18).String(); got != "0.0001" {
		t.Errorf("FromBaseUnits(1e14 wei) = %s, want 0.0001", got)
	}
	if got := FromBaseUnits(nil, 18).String(); got != "0" {
		t.Errorf("FromBaseUnits(nil) = %s, want 0", got)
	}
}

// randomDecimal returns a random decimal string and the same value as a
// big.Rat, covering signs, zeros, long coefficients and mixed scales.
func randomDecimal(r *rand.Rand) (string, *big.Rat) {
	var b strings.Builder
	if r.IntN(3) == 0 {
		b.WriteByte('-')
	}
	intDigits := 1 + r.IntN(30)
	for i := 0; i < intDigits; i++ {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	if frac := r.IntN(25); frac > 0 {
		b.WriteByte('.')
		for i := 0; i < frac; i++ {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
	}
	s := b.String()
	rat, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("big.Rat rejected " + s)
	}
	return s, rat
}

func TestAgainstBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		as, ar := randomDecimal(r)
		bs, br := randomDecimal(r)
		if i%10 == 0 {
			bs, br = as, ar // exercise equality
		}
		a, b := MustParse(as), MustParse(bs)

		wantSum := new(big.Rat).Add(ar, br)
		if got, _ := new(big.Rat).SetString(a.Add(b).String()); got.Cmp(wantSum) != 0 {
			t.Fatalf("%s + %s = %s, want %s", as, bs, a.Add(b), wantSum.FloatString(40))
		}
		wantDiff := new(big.Rat).Sub(ar, br)
		if got, _ := new(big.Rat).SetString(a.Sub(b).String()); got.Cmp(wantDiff) != 0 {
			t.Fatalf("%s - %s = %s, want %s", as, bs, a.Sub(b), wantDiff.FloatString(40))
		}
		if got, want := a.Cmp(b), ar.Cmp(br); got != want {
			t.Fatalf("Cmp(%s, %s) = %d, want %d", as, bs, got, want)
		}
		if got, want := a.Sign(), ar.Sign(); got != want {
			t.Fatalf("Sign(%s) = %d, want %d", as, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0", "-1.50", "+2", "0.0001", "100000000000000", "1e3", ".5", "5.", "NaN",
		"-0.000", "007.10", "1.2.3", " 1", "0x10", strings.Repeat("9", MaxDigits),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrSyntax", s, err)
			}
			return
		}
		out := d.String()
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(String()=%q) of %q: %v", out, s, err)
		}
		if back.Cmp(d) != 0 || back.String() != out {
			t.Fatalf("round trip of %q: %q -> %q", s, out, back.String())
		}
		rat, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("Parse accepted %q but big.Rat did not", s)
		}
		if got, _ := new(big.Rat).SetString(out); got.Cmp(rat) != 0 {
			t.Fatalf("Parse(%q).String() = %q, numerically different", s, out)
		}
		var j Decimal
		if err := json.Unmarshal([]byte(`"`+out+`"`), &j); err != nil || j.Cmp(d) != 0 {
			t.Fatalf("JSON round trip of %q: %v, %s", out, err, j)
		}
	})
}

func BenchmarkParseAddCmp(b *testing.B) {
	limit := MustParse("10000")
	b.ReportAllocs()
	for b.Loop() {
		x, err := Parse("0.000100000000000000")
		if err != nil {
			b.Fatal(err)
		}
		y, err := Parse("1234.5678")
		if err != nil {
			b.Fatal(err)
		}
		if x.Add(y).Cmp(limit) >= 0 {
			b.Fatal("unexpected comparison")
		}
	}
}
