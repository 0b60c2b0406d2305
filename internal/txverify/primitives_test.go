package txverify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

func TestBase58(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, ""},
		{"zero", []byte{0}, "1"},
		{"hello world", []byte("Hello World!"), "2NEpo7TZRRrLZSi2U"},
		{"system program", make([]byte, 32), "11111111111111111111111111111111"},
		{"leading zeros", []byte{0, 0, 1}, "112"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := base58Encode(tt.in); got != tt.want {
				t.Fatalf("encode = %q, want %q", got, tt.want)
			}
			if tt.want == "" {
				return
			}
			back, err := base58Decode(tt.want)
			if err != nil || !bytes.Equal(back, tt.in) {
				t.Fatalf("decode(%q) = %x, %v", tt.want, back, err)
			}
		})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			if rng.IntN(4) > 0 {
				b[j] = byte(rng.UintN(256))
			}
		}
		back, err := base58Decode(base58Encode(b))
		if len(b) > 0 && (err != nil || !bytes.Equal(back, b)) {
			t.Fatalf("round trip of %x: %x, %v", b, back, err)
		}
	}
	for _, bad := range []string{"", "0", "O", "I", "l", "abc+", "x y"} {
		if _, err := base58Decode(bad); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
}

func TestBase58Check(t *testing.T) {
	a, ok := parseTronAddress("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
	if !ok || a[0] != 0x41 {
		t.Fatalf("USDT contract: %x %v", a, ok)
	}
	if got := base58CheckEncode(a[:]); got != "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t" {
		t.Errorf("re-encoded %s", got)
	}
	for _, bad := range []string{
		"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u",           // checksum
		"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", // not base58check
		"1111111111111111111114oLvT2",                  // valid checksum, version 0x00
	} {
		if _, ok := parseTronAddress(bad); ok {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestOnCurve(t *testing.T) {
	for i := 0; i < 100; i++ {
		seed := sha256.Sum256([]byte{byte(i)})
		pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
		if !onCurve([32]byte(pub)) {
			t.Fatalf("public key %x reported off the curve", pub)
		}
	}
	var identity, negZeroIdentity, unreducedOne [32]byte
	identity[0] = 1
	// The Solana runtime decodes leniently: an x of zero with its sign bit
	// set, and a y of p+1 (2^255 - 18, that is 1 mod p), are both the
	// identity. A PDA must never be such a point either.
	negZeroIdentity[0], negZeroIdentity[31] = 1, 0x80
	unreducedOne[0] = 0xee
	for i := 1; i < 31; i++ {
		unreducedOne[i] = 0xff
	}
	unreducedOne[31] = 0x7f
	for name, k := range map[string][32]byte{
		"y=0 (the system program ID)":   {},
		"identity":                      identity,
		"identity, sign bit set":        negZeroIdentity,
		"identity, y not reduced mod p": unreducedOne,
	} {
		if !onCurve(k) {
			t.Errorf("%s reported off the curve", name)
		}
	}
	if ata := mustSolanaKey("2VpLnZpPENF5rcmSkFnA4TGE4oPRe9W9za2TW32MZZd2"); onCurve(ata) {
		t.Error("the vector's associated token account (a PDA) reported on the curve")
	}
	// About half of all 32-byte strings are valid encodings.
	rng := rand.New(rand.NewPCG(5, 6))
	on := 0
	for i := 0; i < 2000; i++ {
		var k [32]byte
		for j := range k {
			k[j] = byte(rng.UintN(256))
		}
		if onCurve(k) {
			on++
		}
	}
	if on < 850 || on > 1150 {
		t.Errorf("%d of 2000 random strings on the curve, want about half", on)
	}
}

func TestAssociatedTokenAddressVector(t *testing.T) {
	owner := mustSolanaKey("8bJaa7p816rKnPSGTsZdWBDkAmsuKDnoEYzLRwrsuFV6")
	mint := mustSolanaKey("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
	got, err := associatedTokenAddress(owner, solTokenProgram, mint)
	if err != nil {
		t.Fatal(err)
	}
	if s := solAddr(got); s != "2VpLnZpPENF5rcmSkFnA4TGE4oPRe9W9za2TW32MZZd2" {
		t.Errorf("ATA %s, want 2VpLnZpPENF5rcmSkFnA4TGE4oPRe9W9za2TW32MZZd2", s)
	}
}

func TestCompactU16(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want int
		err  bool
	}{
		{"0", []byte{0}, 0, false},
		{"127", []byte{0x7f}, 127, false},
		{"128", []byte{0x80, 0x01}, 128, false},
		{"16383", []byte{0xff, 0x7f}, 16383, false},
		{"16384", []byte{0x80, 0x80, 0x01}, 16384, false},
		{"65535", []byte{0xff, 0xff, 0x03}, 65535, false},
		{"65536", []byte{0x80, 0x80, 0x04}, 0, true},
		{"alias of 0", []byte{0x80, 0x00}, 0, true},
		{"alias of 1", []byte{0x81, 0x80, 0x00}, 0, true},
		{"four bytes", []byte{0x80, 0x80, 0x80, 0x01}, 0, true},
		{"truncated", []byte{0x80}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &solReader{b: tt.in}
			got := r.compactU16()
			if (r.err != nil) != tt.err || (!tt.err && got != tt.want) {
				t.Errorf("got %d, %v; want %d, error %v", got, r.err, tt.want, tt.err)
			}
		})
	}
}
