package token

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestUnverifiedRequestID(t *testing.T) {
	enc := func(claims string) string {
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
	}
	pd := func(req string) string {
		return enc(`{"package_data":"` + base64.StdEncoding.EncodeToString([]byte(req)) + `"}`)
	}
	tests := []struct {
		name, tok, want string
	}{
		{"well formed", pd(`{"request_id":"r-1"}`), "r-1"},
		{"request_id at the length bound", pd(`{"request_id":"` + strings.Repeat("x", MaxEchoedIDLen) + `"}`), strings.Repeat("x", MaxEchoedIDLen)},
		{"not three parts", "a.b", ""},
		{"four parts", pd(`{"request_id":"r-1"}`) + ".x", ""},
		{"claims not base64", "a.!!!.c", ""},
		{"claims not JSON", enc("hello"), ""},
		{"package_data not base64", enc(`{"package_data":"*"}`), ""},
		{"request not JSON", pd("hello"), ""},
		{"request_id a number", pd(`{"request_id":7}`), ""},
		{"request_id too long", pd(`{"request_id":"` + strings.Repeat("x", MaxEchoedIDLen+1) + `"}`), ""},
		// encoding/json replaces invalid UTF-8 with U+FFFD: what is echoed
		// is always valid text.
		{"request_id not UTF-8", pd("{\"request_id\":\"\xff\"}"), "\uFFFD"},
		{"token longer than MaxTokenLen", pd(`{"request_id":"r-1","pad":"` + strings.Repeat("p", MaxTokenLen) + `"}`), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := UnverifiedRequestID(tc.tok); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
