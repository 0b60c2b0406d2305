package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tssgate/internal/store/storetest"
	"tssgate/internal/testkit"
	"tssgate/internal/token"
)

// serveStarts runs `tssgate serve args...` for at most a few seconds and
// reports whether it got as far as listening; it always stops the server.
func serveStarts(t *testing.T, args ...string) (started bool, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), out, errOut) }()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case <-done:
			return false, out.String(), errOut.String()
		case <-deadline:
			cancel()
			<-done
			t.Fatalf("serve neither listened nor exited; stderr:\n%s", errOut.String())
		case <-time.After(20 * time.Millisecond):
			if strings.Contains(out.String(), "listening on") {
				cancel()
				<-done
				return true, out.String(), errOut.String()
			}
		}
	}
}

// Attack2 (pre-existing, not a regression of the refactor): Cobo publishes
// the private halves of its template keys (internal/testkit embeds them).
// The README says Cobo's template config works as is, and serve trusts the
// TSS Node key at Cobo's default path configs/tss-node-callback-pub.key
// when nothing else is configured. A deployment that kept the template's
// key files trusts requests anyone can sign (node key), or signs replies
// anyone can forge (server key). serve must refuse a published key.
func TestAttack2ServeRefusesCoboTemplateKeys(t *testing.T) {
	keys := testkit.WriteCoboKeys(t)
	nodePub := filepath.Join(keys, testkit.NodePublicKeyFile)
	serverPriv := filepath.Join(keys, testkit.ServerPrivateKeyFile)
	t.Run("template TSS Node key via --tss-node-pub", func(t *testing.T) {
		started, _, _ := serveStarts(t, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--tss-node-pub", nodePub)
		if started {
			t.Fatal("serve trusts Cobo's published template TSS Node key: anyone holding the public template private key can sign requests")
		}
	})
	t.Run("template TSS Node key at Cobo's default path", func(t *testing.T) {
		wd := t.TempDir()
		t.Chdir(wd)
		if err := os.MkdirAll("configs", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(CoboDefaultTSSNodeKey, testkit.CoboKeyPEM(t, testkit.NodePublicKeyFile), 0o644); err != nil {
			t.Fatal(err)
		}
		started, out, _ := serveStarts(t, "--listen", "127.0.0.1:0")
		if started {
			t.Fatalf("serve trusts Cobo's published template TSS Node key found at %s:\n%s", CoboDefaultTSSNodeKey, out)
		}
	})
	t.Run("template server key via --server-key", func(t *testing.T) {
		started, _, _ := serveStarts(t, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--server-key", serverPriv)
		if started {
			t.Fatal("serve signs replies with Cobo's published template server key: anyone can forge its APPROVE replies")
		}
	})
}

// Attack2: dev mode's loopback check accepts the name "localhost", but the
// listener resolves that name separately (Go does not pin it to loopback:
// /etc/hosts or DNS decide), so the check proves nothing about the socket
// that is bound. Dev mode must take only literal loopback addresses, or
// check the address actually bound.
func TestAttack2DevLoopbackIsAName(t *testing.T) {
	for _, listen := range []string{"localhost:11020", "LOCALHOST:11020"} {
		cfg := DefaultConfig()
		cfg.Dev, cfg.Listen = true, listen
		if cfg.Validate() == nil {
			t.Errorf("--dev --listen %s accepted: a host name whose resolution tssgate does not control counts as loopback", listen)
		}
	}
}

// Held: every spelling of a non-loopback listener, and a TSS Node key from
// any layer, refuses --dev from any layer.
func TestAttack2DevRefusedEverySpelling(t *testing.T) {
	keyDir := t.TempDir()
	if _, _, err := token.GenerateKeyPair(keyDir, 2048, "n.pem", "n.pub"); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(keyDir, "n.pub")
	for _, listen := range []string{"0.0.0.0:1", ":1", "[::]:1", "[::ffff:0.0.0.0]:1", "127.0.0.1.nip.io:1", "example.com:1",
		"10.0.0.1:1", "[fe80::1%lo]:1", "127.1:1", "0:1"} {
		for _, how := range []struct {
			args []string
			env  map[string]string
		}{
			{[]string{"--dev", "--listen", listen}, nil},
			{nil, map[string]string{"TSSGATE_DEV": "1", "TSSGATE_LISTEN": listen}},
			{[]string{"--config", writeConfig(t, "tssgate:\n  dev: true\ncallback_server:\n  endpoint: \""+listen+"\"\n")}, nil},
		} {
			if _, err := loadConfig(how.args, env(how.env), nil); err == nil {
				t.Errorf("dev accepted with listen %q (%v %v)", listen, how.args, how.env)
			}
		}
	}
	for _, how := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--dev", "--tss-node-pub", pub}, nil},
		{[]string{"--dev"}, map[string]string{"TSSGATE_TSS_NODE_PUB": pub}},
		{[]string{"--dev", "--config", writeConfig(t, "callback_server:\n  client_public_key_path: "+pub+"\n")}, nil},
		{nil, map[string]string{"TSSGATE_DEV": "true", "TSSGATE_CONFIG": writeConfig(t, "tssgate:\n  tss_node_keys: [{path: "+pub+"}]\n")}},
		{[]string{"--config", writeConfig(t, "tssgate:\n  dev: true\n")}, map[string]string{"TSSGATE_TSS_NODE_PUB": "a=" + pub}},
	} {
		if _, err := loadConfig(how.args, env(how.env), nil); err == nil {
			t.Errorf("dev accepted with a TSS Node key (%v %v)", how.args, how.env)
		}
	}
	for _, listen := range []string{"127.0.0.1:1", "[::1]:1", "127.0.0.2:1", "[::ffff:127.0.0.1]:1"} {
		if _, err := loadConfig([]string{"--dev", "--listen", listen}, env(nil), nil); err != nil {
			t.Errorf("dev refused on loopback %s: %v", listen, err)
		}
	}
}

// Attack2: audit is documented as read-only ("never creates a store"), yet
// it opens the store with backend.Open, which switches the journal mode and
// runs the migrations. An existing empty file (a truncated or placeholder
// database, a wrong path that happens to exist) is silently turned into a
// fresh, empty decision log, and `audit verify` then reports "chain intact:
// 0 decisions" instead of an error.
func TestAttack2AuditDoesNotMigrateAnEmptySQLiteFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "tssgate.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "audit", "verify", "--store", "sqlite:"+db)
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 0 {
		t.Errorf("audit verify wrote %d bytes (schema and migrations) into an existing empty file", fi.Size())
	}
	if code == 0 {
		t.Errorf("audit verify on an empty file that holds no decision log exited 0: %q %q", out, errOut)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("audit left files beside the store: %v", names)
	}
}

// Attack2: the same for PostgreSQL: `audit list` against a database (or a
// search_path) that holds no decision log creates the tssgate schema in it
// and prints an empty list, instead of saying there is no store there.
func TestAttack2AuditDoesNotCreatePostgresSchema(t *testing.T) {
	dsn := storetest.PostgresSchema(t)
	code, out, errOut := runCmd(t, "audit", "list", "--store", dsn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("read-only audit list created %d tables in an empty schema (exit %d, %q %q)", n, code, out, errOut)
	}
	if code == 0 {
		t.Errorf("audit list against a database without a decision log exited 0: %q", out)
	}
}
