package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/protocol"
)

// benchPolicy builds a policy of n rules in which only the last decides:
// n-1 per-token cap rules that do not match the request (each still reads
// request and tx and compares a decimal), then an approve rule over a list
// of listSize addresses that holds the destination.
func benchPolicy(b *testing.B, n, listSize int) *Policy {
	b.Helper()
	var list strings.Builder
	for i := 0; i < listSize-1; i++ {
		fmt.Fprintf(&list, "0x%040x\n", i)
	}
	list.WriteString("0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f\n")
	var src strings.Builder
	src.WriteString("version: 1\nlists:\n  owned: {file: owned.txt}\nrules:\n")
	for i := 0; i < n-1; i++ {
		fmt.Fprintf(&src, "  - {name: cap-%d, when: 'request.type == \"KEYSIGN\" && tx.token_id == \"TOKEN_%d\" && tx.amount > decimal(\"%d.5\")', action: reject}\n", i, i, i)
	}
	src.WriteString("  - {name: owned, when: 'request.type == \"KEYSIGN\" && tx.destinations.all(d, d.address in lists.owned)', action: approve}\n")
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "owned.txt"), []byte(list.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	p, err := Load(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func runDecide(b *testing.B, p *Policy, req *protocol.Request) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := p.Decide(ctx, req)
		if err != nil || d.Rule != "owned" {
			b.Fatalf("Decide = %+v, %v; want the last rule to approve", d, err)
		}
	}
}

// BenchmarkDecide measures decision cost against policy size, with the
// deciding rule last (the worst case) and a 100,000-address list.
func BenchmarkDecide(b *testing.B) {
	req := keysign.build(b) // 0.0001 ETH to 0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			runDecide(b, benchPolicy(b, n, 100_000), req)
		})
	}
}

// BenchmarkListMembership measures one rule testing membership in lists of
// growing size: the cost must stay flat (a hash lookup).
func BenchmarkListMembership(b *testing.B) {
	req := keysign.build(b) // 0.0001 ETH to 0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f
	for _, size := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("list=%d", size), func(b *testing.B) {
			runDecide(b, benchPolicy(b, 1, size), req)
		})
	}
}

// BenchmarkLoad measures loading and compiling a 100-rule policy with a
// 100,000-address list: the cost of a reload.
func BenchmarkLoad(b *testing.B) {
	p := benchPolicy(b, 100, 100_000)
	path := p.files[0]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}
