package server

import (
	"math/rand/v2"
	"net/url"
	"testing"
)

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
