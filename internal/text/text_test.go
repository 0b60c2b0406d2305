package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain ASCII kept", "token_id ETH is fine", 100, "token_id ETH is fine"},
		{"non-ASCII kept", "адрес 地址 ünïcödé €", 100, "адрес 地址 ünïcödé €"},
		{"genuine U+FFFD kept", "a\uFFFDb", 100, "a\uFFFDb"},
		{"backslash and quotes kept", `a\b"c'`, 100, `a\b"c'`},
		{"NUL escaped", "a\x00b", 100, `a\x00b`},
		{"C0 controls escaped", "\t\n\r\x1b[31m", 100, `\x09\x0a\x0d\x1b[31m`},
		{"DEL escaped", "a\x7f", 100, `a\x7f`},
		{"C1 control escaped as \\u", "a\u0085b", 100, `a\u0085b`},
		{"line separators escaped", "a\u2028b\u2029c", 100, `a\u2028b\u2029c`},
		{"bidi override escaped", "abc\u202Efed", 100, `abc\u202efed`},
		{"bidi isolate escaped", "\u2066x\u2069", 100, `\u2066x\u2069`},
		{"invalid byte escaped", "a\xffb", 100, `a\xffb`},
		{"lone continuation byte", "\x80", 100, `\x80`},
		{"rune cut mid-character", "ab\xe2\x82", 100, `ab\xe2\x82`},
		{"encoded surrogate is invalid", "\xed\xa0\x80", 100, `\xed\xa0\x80`},
		{"overlong NUL is invalid", "\xc0\x80", 100, `\xc0\x80`},
		{"fits exactly", "abcdefghij", 10, "abcdefghij"},
		{"truncated with marker", "abcdefghijk", 10, "abcdefg..."},
		{"truncated on a rune boundary", "aaaaaaa€€€", 10, "aaaaaaa..."},
		{"multi-byte rune not split", "aaaaa€€€", 10, "aaaaa..."},
		{"escape never split", "aaaaa\x00\x00", 10, "aaaaa..."},
		{"escaped text counts its escapes", "\x00\x00", 8, `\x00\x00`},
		{"escaped text over the cap", "\x00\x00\x00", 8, `\x00...`},
		{"no limit", strings.Repeat("x", 5000), 0, strings.Repeat("x", 5000)},
		{"tiny limit still ends in the marker", "abcdef", 1, "..."},
		{"empty", "", 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Clean(tt.in, tt.max)
			if got != tt.want {
				t.Fatalf("Clean(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			assertStorable(t, got, tt.max)
			if again := Clean(got, tt.max); again != got {
				t.Fatalf("not idempotent: Clean(%q) = %q", got, again)
			}
		})
	}
}

// assertStorable checks what the decision store requires of text, and the
// length bound.
func assertStorable(t *testing.T, s string, limit int) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%q is not valid UTF-8", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			t.Errorf("%q holds control character %U", s, r)
		}
	}
	if lim := max(limit, len(Marker)); limit > 0 && len(s) > lim {
		t.Errorf("len %d over the limit %d", len(s), lim)
	}
}

// Hostile inputs of every shape: the output is always storable and bounded,
// and a 1 MB input costs no more than the bound to clean.
func TestCleanHostile(t *testing.T) {
	inputs := map[string]string{
		"1 MB of NUL":               strings.Repeat("\x00", 1<<20),
		"1 MB of invalid bytes":     strings.Repeat("\xff", 1<<20),
		"1 MB of 3-byte runes":      strings.Repeat("€", 1<<20/3),
		"1 MB cut mid-rune":         strings.Repeat("€", 1<<20/3) + "\xe2\x82",
		"every byte value":          allBytes(),
		"bidi and separators mixed": strings.Repeat("\u202e\u2028\u0085a", 1000),
	}
	for name, in := range inputs {
		for _, max := range []int{1, 3, 4, 90, 91, 1024} {
			got := Clean(in, max)
			assertStorable(t, got, max)
			if !strings.HasSuffix(got, Marker) {
				t.Errorf("%s, %d: long input not marked: %q", name, max, got)
			}
		}
	}
}

func allBytes() string {
	b := make([]byte, 0, 256*4)
	for i := range 256 {
		b = append(b, byte(i), 'a', byte(i), byte(255-i))
	}
	return string(b)
}

func FuzzClean(f *testing.F) {
	f.Add("abc", 10)
	f.Add("\x00\xff\u202e€", 5)
	f.Add(strings.Repeat("€", 40), 90)
	f.Fuzz(func(t *testing.T, s string, max int) {
		max %= 4096
		got := Clean(s, max)
		assertStorable(t, got, max)
		if Clean(got, max) != got {
			t.Fatalf("not idempotent on %q", s)
		}
		if isClean(s) && (max <= 0 || len(s) <= max) && got != s {
			t.Fatalf("clean input %q changed to %q", s, got)
		}
	})
}

func BenchmarkCleanClean(b *testing.B) {
	s := strings.Repeat("transaction not verified: destination ", 20)
	for b.Loop() {
		Clean(s, 1024)
	}
}

func TestPrintableASCII(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"ETH", true}, {"ETH_USDT", true}, {"", false}, {"ETH ", false},
		{"\u0415TH", false}, {"ETH\x00", false}, {"ETH\u200b", false}, {"~!", true},
	} {
		if got := PrintableASCII(tc.s); got != tc.want {
			t.Errorf("PrintableASCII(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
