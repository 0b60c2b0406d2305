package server

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadAll checks the pooled body reader against io.ReadAll over
// readers that return data in odd pieces, with a buffer that already holds
// an earlier body's bytes (as a pooled one does).
func TestReadAll(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 3000) // 48 KB: grows a 16 KiB buffer twice
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		r       func() io.Reader
		want    string
		wantErr error
	}{
		{"empty", func() io.Reader { return strings.NewReader("") }, "", nil},
		{"short", func() io.Reader { return strings.NewReader("TSS_JWT_MSG=a.b.c") }, "TSS_JWT_MSG=a.b.c", nil},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(strings.NewReader(long)) }, long, nil},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(strings.NewReader(long)) }, long, nil},
		{"half reads", func() io.Reader { return iotest.HalfReader(strings.NewReader(long)) }, long, nil},
		{"error after data", func() io.Reader { return io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(errBoom)) }, "abc", errBoom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, start := range [][]byte{nil, make([]byte, 0, 16), append(make([]byte, 0, 16<<10), "stale bytes of an earlier body"...)[:0]} {
				got, err := readAll(tc.r(), start)
				if !errors.Is(err, tc.wantErr) || string(got) != tc.want {
					t.Fatalf("readAll (start cap %d) = %d bytes, %v; want %d bytes, %v", cap(start), len(got), err, len(tc.want), tc.wantErr)
				}
				ref, _ := io.ReadAll(tc.r())
				if !bytes.Equal(got, ref) {
					t.Fatalf("readAll differs from io.ReadAll")
				}
			}
		})
	}
}

// TestBodyPoolDropsLargeBuffers keeps one huge body from pinning its
// buffer in the pool.
func TestBodyPoolDropsLargeBuffers(t *testing.T) {
	big := make([]byte, 0, maxPooledBody+1)
	putBody(&big)
	for range 100 {
		if bp := bodyPool.Get().(*[]byte); cap(*bp) > maxPooledBody {
			t.Fatalf("the pool returned a %d-byte buffer", cap(*bp))
		}
	}
}
