package server

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A sender that declares Content-Length: 65536 and then sends nothing makes
// readBody allocate 64.5 KiB before its first Read blocks: with io.ReadAll
// (the path before this change) such a connection held 512 bytes. 256
// connections (the default cap) then pin 16.5 MiB instead of 128 KiB.
func TestAttack6DeclaredLengthPinsBuffer(t *testing.T) {
	for _, declared := range []int64{64 << 10} {
		body, err := readBody(strings.NewReader(""), declared)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := io.ReadAll(strings.NewReader(""))
		if cap(body) > 4*cap(ref)+bytes.MinRead {
			t.Errorf("declared %d, sent 0: buffer of %d bytes held while waiting (io.ReadAll holds %d)", declared, cap(body), cap(ref))
		}
	}
}

// The up-front buffer ignores the configured body cap: with MaxBodyBytes
// 1 KiB, a declared 64 KiB still allocates 64.5 KiB, 64 times the cap.
func TestAttack6DeclaredLengthExceedsBodyCap(t *testing.T) {
	const limit = 1 << 10
	rd := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader("TSS_JWT_MSG=a")), limit)
	body, err := readBody(rd, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	if cap(body) > limit+bytes.MinRead {
		t.Errorf("MaxBodyBytes %d, declared 64 KiB: buffer of %d bytes", limit, cap(body))
	}
}

// plainForm against url.ParseQuery on bodies built from the characters that
// matter to form encoding: whenever the fast path accepts, ParseQuery must
// read exactly one TSS_JWT_MSG with the same value.
func TestAttack6PlainFormAgreesWithParseQuery(t *testing.T) {
	alphabet := []byte("aZ09-_.=&;+% \t\r\n\x00\x80TSS_JWT_MSG")
	r := rand.New(rand.NewPCG(6, 6))
	bodies := []string{
		"TSS_JWT_MSG=a.b.c", "TSS_JWT_MSG==", "TSS_JWT_MSG=a=b", "tss_jwt_msg=a", "TSS_JWT_MSG=a&TSS_JWT_MSG=b",
		"TSS_JWT_MSG=a;b", "TSS_JWT_MSG=%61", "TSS_JWT_MSG=a+b", "TSS_JWT_MSG%3Da", "TSS_JWT_MSG=..", "TSS_JWT_MSG=-_",
	}
	for range 20000 {
		n := r.IntN(12)
		b := []byte("TSS_JWT_MSG=")
		if r.IntN(4) == 0 {
			b = nil
		}
		for range n {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		bodies = append(bodies, string(b))
	}
	for _, body := range bodies {
		got, ok := plainForm([]byte(body))
		if !ok {
			continue
		}
		form, err := url.ParseQuery(body)
		if err != nil || len(form) != 1 || len(form["TSS_JWT_MSG"]) != 1 || form["TSS_JWT_MSG"][0] != got {
			t.Errorf("plainForm(%q) = %q, url.ParseQuery reads %v (%v)", body, got, form, err)
		}
	}
}
