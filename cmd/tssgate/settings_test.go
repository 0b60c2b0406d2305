package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"tssgate/internal/server"
	"tssgate/internal/token"
)

// The README's settings table lists exactly the code's settings, in order,
// with the same YAML key, flag, variable, default and help text.
func TestReadmeSettingsTableMatchesCode(t *testing.T) {
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const header = "| setting | YAML key | flag | env | default | meaning |"
	var got []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == header:
			in = true
		case in && strings.HasPrefix(line, "|---"):
		case in && strings.HasPrefix(line, "|"):
			got = append(got, line)
		case in:
			in = false
		}
	}
	if len(got) == 0 {
		t.Fatalf("README has no table headed %q", header)
	}
	var want []string
	for _, s := range settings {
		want = append(want, readmeRow(s))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README settings table differs from the code's; want exactly:\n%s\n%s\n\ngot:\n%s", header, strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

// readmeRow is the README row of one setting.
func readmeRow(s *setting) string {
	cell := func(v string) string {
		if v == "" {
			return "—"
		}
		return "`" + v + "`"
	}
	fl := ""
	if s.flag != "" {
		fl = strings.TrimSpace("--" + s.flag + " " + s.arg)
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", s.name, cell(s.yaml), cell(fl), cell(s.env), cell(s.Default()), s.help)
}

// The table is consistent: unique names, keys, variables and flags; every
// variable is TSSGATE_*; defaults validate.
func TestSettingsTable(t *testing.T) {
	seen := map[string]string{}
	for _, s := range settings {
		for _, k := range []string{"name:" + s.name, "yaml:" + s.yaml, "env:" + s.env, "flag:" + s.flag} {
			if strings.HasSuffix(k, ":") {
				continue
			}
			if other, dup := seen[k]; dup {
				t.Errorf("%s used by %s and %s", k, other, s.name)
			}
			seen[k] = s.name
		}
		if s.env != "" && !strings.HasPrefix(s.env, "TSSGATE_") {
			t.Errorf("%s: variable %s is not TSSGATE_*", s.name, s.env)
		}
		if s.help == "" || s.Default() == "" {
			t.Errorf("%s: help %q, default %q", s.name, s.help, s.Default())
		}
		if s.name != "config" && s.set == nil && s.node == nil {
			t.Errorf("%s: no way to set it", s.name)
		}
	}
	d := DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

// The server timeouts and the decision deadline are settings whose
// defaults are today's values; the YAML file, variables and flags set them.
func TestConfigTimeoutsAndPolicyPoll(t *testing.T) {
	file := writeConfig(t, "tssgate:\n  policy_poll: 250ms\n  read_header_timeout: 2s\n  idle_timeout: 30s\n  shutdown_grace: 3s\n")
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"defaults are today's values", nil, nil, func(t *testing.T, c Config) {
			if c.Timeouts != server.DefaultTimeouts() || c.DecideTimeout != server.DefaultDecideTimeout || c.PolicyPoll != 2*time.Second {
				t.Errorf("timeouts %+v, decide %s, poll %s", c.Timeouts, c.DecideTimeout, c.PolicyPoll)
			}
		}},
		{"from the file", []string{"--config", file}, nil, func(t *testing.T, c Config) {
			if c.PolicyPoll != 250*time.Millisecond || c.Timeouts.ReadHeader != 2*time.Second || c.Timeouts.Idle != 30*time.Second || c.Timeouts.Shutdown != 3*time.Second {
				t.Errorf("%+v poll %s", c.Timeouts, c.PolicyPoll)
			}
			if c.Timeouts.Read != 10*time.Second || c.Timeouts.Write != 15*time.Second {
				t.Errorf("unset timeouts changed: %+v", c.Timeouts)
			}
		}},
		{"env and flags", []string{"--config", file, "--write-timeout", "20s", "--decision-timeout", "8s"}, map[string]string{"TSSGATE_READ_TIMEOUT": "12s", "TSSGATE_POLICY_POLL": "1s"}, func(t *testing.T, c Config) {
			if c.Timeouts.Read != 12*time.Second || c.Timeouts.Write != 20*time.Second || c.DecideTimeout != 8*time.Second || c.PolicyPoll != time.Second {
				t.Errorf("%+v decide %s poll %s", c.Timeouts, c.DecideTimeout, c.PolicyPoll)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// Validation runs once on the merged configuration: a pair split across
// the file and the command line is accepted, and each error names where the
// value came from (file and line, variable, or --flag).
func TestConfigMergedThenValidated(t *testing.T) {
	certFile := writeConfig(t, "tssgate:\n  tls_cert: /etc/tssgate/tls.crt\n")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // "" means it must load
	}{
		{name: "tls_cert in the file, --tls-key on the command line", args: []string{"--config", certFile, "--tls-key", "/etc/tssgate/tls.key"}},
		{name: "tls_cert in the file, TSSGATE_TLS_KEY", args: []string{"--config", certFile}, env: map[string]string{"TSSGATE_TLS_KEY": "k.pem"}},
		{name: "tls_cert alone", args: []string{"--config", certFile}, wantErr: ":2: tssgate.tls_cert: tls_cert and tls_key must be given together"},
		{name: "tls_key flag alone", args: []string{"--tls-key", "k.pem"}, wantErr: "tls_key: tls_cert and tls_key must be given together (from --tls-key)"},
		{name: "unknown TSSGATE_ variable", env: map[string]string{"TSSGATE_LISTN": "0.0.0.0:1"}, wantErr: "unknown environment variable TSSGATE_LISTN"},
		{name: "documented test variable allowed", env: map[string]string{"TSSGATE_TEST_POSTGRES": "postgres://x"}},
		{name: "other prefixes ignored", env: map[string]string{"TSSGATEX": "1", "HOME": "/root"}},
		{name: "range error names the flag", args: []string{"--max-token-lifetime", "25h"}, wantErr: "max_token_lifetime: must be between 1m and 24h, got 25h0m0s (from --max-token-lifetime)"},
		{name: "range error names the variable", env: map[string]string{"TSSGATE_LEEWAY": "10m"}, wantErr: "leeway: must be between 0s and 5m, got 10m0s (from TSSGATE_LEEWAY)"},
		{name: "parse error names the flag", args: []string{"--max-connections", "many"}, wantErr: `--max-connections: not an integer: "many"`},
		{name: "unknown flag named with two dashes", args: []string{"--listn", "x:1"}, wantErr: "flag provided but not defined: --listn"},
		{name: "flag without its value", args: []string{"--listen"}, wantErr: "flag needs an argument: --listen"},
		{name: "listen not host:port", args: []string{"--listen", "11020"}, wantErr: `listen: want host:port, got "11020" (from --listen)`},
		{name: "write timeout not above the decision deadline", args: []string{"--decision-timeout", "20s"}, wantErr: "write_timeout: must be longer than decision_timeout (20s, from --decision-timeout)"},
		{name: "unknown YAML key lists the known ones", args: []string{"--config", writeConfig(t, "callback_server:\n  client_public_key_pth: a.pub\n")},
			wantErr: "tssgate.yaml:2: unknown key callback_server.client_public_key_pth (known keys: client_public_key_path, enable_debug, endpoint, service_name, service_private_key_path, token_expire_minutes)"},
		{name: "unknown key in a key entry", args: []string{"--config", writeConfig(t, "tssgate:\n  tss_node_keys:\n    - {name: a, pth: a.pub}\n")},
			wantErr: ":3: unknown key tssgate.tss_node_keys[0].pth (known keys: name, path)"},
		{name: "unknown key in a token entry", args: []string{"--config", writeConfig(t, "tssgate:\n  tokens:\n    - {token_id: X, chain: evm, chain_id: X, decimals: 6, evm_chain_id: \"5\", decimal: 6}\n")},
			wantErr: ":3: unknown key tssgate.tokens[0].decimal"},
		{name: "key given twice", args: []string{"--config", writeConfig(t, "tssgate:\n  leeway: 1s\n  leeway: 2s\n")}, wantErr: ":3: tssgate.leeway: given twice (first on line 2)"},
		{name: "policy_poll key", args: []string{"--config", writeConfig(t, "tssgate:\n  policy_poll: 1ms\n")}, wantErr: ":2: tssgate.policy_poll: must be between 10ms and 1h"},
		{name: "dev on all interfaces", args: []string{"--dev", "--listen", "0.0.0.0:11020"}, wantErr: "refused unless the listener is loopback"},
		{name: "dev with a production key", args: []string{"--config", writeConfig(t, "tssgate:\n  dev: true\n  tss_node_keys:\n    - {name: prod, path: /etc/prod.pub}\n")},
			wantErr: "dev mode is refused while TSS Node keys are configured (prod (/etc/prod.pub, from "},
		{name: "dev on loopback", args: []string{"--dev", "--listen", "[::1]:0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(tc.args, env(tc.env), io.Discard)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded %+v, want an error containing %q", c, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// Validate reports and never changes the configuration.
func TestValidateDoesNotMutate(t *testing.T) {
	c := DefaultConfig()
	c.TSSNodeKeys = []KeyRef{{Path: "keys/a.pub"}, {Name: "b", Path: "b.pub"}}
	before := c
	before.TSSNodeKeys = append([]KeyRef(nil), c.TSSNodeKeys...)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, before) {
		t.Fatalf("Validate changed the configuration:\n%+v\nwas\n%+v", c, before)
	}
}

// A TSS Node key list comes from one layer: flags replace the
// environment's, which replaces the file's; each key knows its origin.
func TestConfigKeyPrecedenceAndOrigins(t *testing.T) {
	file := writeConfig(t, "callback_server:\n  client_public_key_path: cobo.pub\ntssgate:\n  tss_node_keys:\n    - {name: old, path: old.pub}\n    - {name: new, path: new.pub}\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"file", []string{"--config", file}, nil, "cobo.pub (cobo.pub, from FILE:2), old (old.pub, from FILE:5), new (new.pub, from FILE:6)"},
		{"env replaces the file", []string{"--config", file}, map[string]string{"TSSGATE_TSS_NODE_PUB": "e=e.pub"}, "e (e.pub, from TSSGATE_TSS_NODE_PUB)"},
		{"flags replace env and file", []string{"--config", file, "--tss-node-pub", "f1=f1.pub", "--tss-node-pub", "f2.pub"}, map[string]string{"TSSGATE_TSS_NODE_PUB": "e=e.pub"},
			"f1 (f1.pub, from --tss-node-pub), f2.pub (f2.pub, from --tss-node-pub)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := c.keyList(), strings.ReplaceAll(tc.want, "FILE", file); got != want {
				t.Fatalf("keys %s\nwant %s", got, want)
			}
		})
	}
}

// startServeExact runs `tssgate serve args...` in-process with exactly
// these arguments and returns its stdout and stderr once it listens.
func startServeExact(t *testing.T, args ...string) (*syncBuffer, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), stdout, stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if listenRE.MatchString(stdout.String()) {
			return stdout, stderr
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d before listening; stderr:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start; stdout:\n%s", stdout.String())
	return nil, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// simulate --config finds the URL, the server public key and the dev node
// key from the configuration serve runs with.
func TestSimulateWithConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("callback_server:\n  endpoint: 127.0.0.1:%d\ntssgate:\n  data_dir: %s\n  dev: true\n", freePort(t), filepath.Join(dir, "data")))
	startServeExact(t, "--config", cfg)
	code, out, errOut := runCmd(t, "simulate", "--config", cfg, "--type", "ping")
	if code != 0 || !strings.Contains(out, `"action": "APPROVE"`) {
		t.Fatalf("simulate --config: exit %d\n%s%s", code, out, errOut)
	}
}

// The start-up lines list every trusted key with where it came from, and
// each start-up fact appears once across stdout and the log.
func TestServeStartupFactsOnce(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := token.GenerateKeyPair(dir, 2048, "a.pem", "a.pub"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := token.GenerateKeyPair(dir, 2048, "b.pem", "b.pub"); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("tssgate:\n  data_dir: %s\n  tss_node_keys:\n    - {name: old, path: %s}\n    - {name: new, path: %s}\n",
		filepath.Join(dir, "data"), filepath.Join(dir, "a.pub"), filepath.Join(dir, "b.pub")))
	stdout, stderr := startServeExact(t, "--listen", "127.0.0.1:0", "--config", cfg)
	want := fmt.Sprintf("trusting TSS Node keys: old (%s, from %s:4), new (%s, from %s:5)", filepath.Join(dir, "a.pub"), cfg, filepath.Join(dir, "b.pub"), cfg)
	if !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
	}
	all := stdout.String() + stderr.String()
	if want := "tssgate: RSA by " + token.CryptoBackend() + "\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
	}
	for _, fact := range []string{"listening", "trusting TSS Node keys", "server public key", "no policy configured", "decision store", "RSA by"} {
		if n := strings.Count(strings.ToLower(all), strings.ToLower(fact)); n != 1 {
			t.Errorf("%q appears %d times, want once:\n%s", fact, n, all)
		}
	}
}

// serve checks everything and binds the listener before it creates
// anything: a refusal leaves no data folder, key pair or database behind,
// and never says it is listening.
func TestServeRefusesBeforeCreating(t *testing.T) {
	keys := t.TempDir()
	if _, _, err := token.GenerateKeyPair(keys, 2048, "node.pem", "node.pub"); err != nil {
		t.Fatal(err)
	}
	certA, _ := writeSelfSigned(t, t.TempDir())
	_, keyB := writeSelfSigned(t, t.TempDir())
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	brokenPolicy := filepath.Join(keys, "policy.yaml")
	writeAtomically(t, brokenPolicy, "version: 1\nrules:\n  - name: x\n    when: request.type == \n    action: approve\n")
	keyFile := writeConfig(t, "tssgate:\n  tss_node_keys:\n    - {name: gone, path: /nonexistent/node.pub}\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing TSS Node key from the config file", []string{"--config", keyFile}, `TSS Node key "gone" (from ` + keyFile + ":3)"},
		{"a private key where a public key belongs", []string{"--tss-node-pub", filepath.Join(keys, "node.pem")}, "node.pem"},
		{"missing server key", []string{"--server-key", "/nonexistent/server.pem"}, "/nonexistent/server.pem"},
		{"busy port", []string{"--listen", busy.Addr().String()}, "listen (" + busy.Addr().String() + ", from --listen)"},
		{"mismatched TLS pair", []string{"--tls-cert", certA, "--tls-key", keyB}, "TLS: tls_cert " + certA},
		{"broken policy", []string{"--policy", brokenPolicy}, "policy.yaml:"},
		{"dev on all interfaces", []string{"--dev", "--listen", "0.0.0.0:0"}, "refused unless the listener is loopback"},
		{"dev with a TSS Node key", []string{"--dev", "--tss-node-pub", filepath.Join(keys, "node.pub")}, "dev mode is refused while TSS Node keys are configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", data}, tc.args...)
			code, out, errOut := runCmd(t, args...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q: want a refusal containing %q", code, errOut, tc.want)
			}
			if strings.Contains(out, "listening") {
				t.Errorf("said it was listening: %s", out)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Errorf("data folder %s was created (%v)", data, err)
			}
		})
	}
	t.Run("dev with a key at Cobo's default path", func(t *testing.T) {
		wd := t.TempDir()
		t.Chdir(wd)
		if _, _, err := token.GenerateKeyPair(filepath.Join(wd, "configs"), 2048, "n.pem", "tss-node-callback-pub.key"); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCmd(t, "serve", "--listen", "127.0.0.1:0", "--dev")
		if code == 0 || !strings.Contains(errOut, CoboDefaultTSSNodeKey) {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		if _, err := os.Stat(filepath.Join(wd, "tssgate-data")); !os.IsNotExist(err) {
			t.Errorf("data folder created: %v", err)
		}
	})
}

// Every command and subcommand answers --help and -h with its own usage on
// stdout and exit 0; an unknown flag is named and exits 2.
func TestEveryCommandHelp(t *testing.T) {
	commands := map[string]string{
		"serve":         "Usage: tssgate serve",
		"keygen":        "Usage: tssgate keygen",
		"simulate":      "Usage: tssgate simulate",
		"policy check":  "Usage: tssgate policy check",
		"policy test":   "Usage: tssgate policy test",
		"audit list":    "Usage: tssgate audit list",
		"audit show":    "Usage: tssgate audit show",
		"audit export":  "Usage: tssgate audit export",
		"audit verify":  "Usage: tssgate audit verify",
		"audit limits":  "Usage: tssgate audit limits",
		"version":       "Usage: tssgate version",
		"audit":         "Usage: tssgate audit COMMAND",
		"policy":        "tssgate policy check FILE",
		"help (no cmd)": "tssgate: a fail-closed",
	}
	for cmd, want := range commands {
		for _, h := range []string{"--help", "-h"} {
			t.Run(cmd+" "+h, func(t *testing.T) {
				args := append(strings.Fields(cmd), h)
				if cmd == "help (no cmd)" {
					args = []string{h}
				}
				code, out, errOut := runCmd(t, args...)
				if code != 0 || !strings.HasPrefix(strings.TrimSpace(out), strings.TrimSpace(want)) && !strings.Contains(out, want) || errOut != "" {
					t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0 and usage starting %q", code, out, errOut, want)
				}
			})
		}
		if cmd == "audit" || cmd == "policy" || cmd == "help (no cmd)" {
			continue
		}
		t.Run(cmd+" unknown flag", func(t *testing.T) {
			code, _, errOut := runCmd(t, append(strings.Fields(cmd), "--frobnicate")...)
			if code != 2 || !strings.Contains(errOut, "--frobnicate") {
				t.Fatalf("exit %d, stderr %q: want exit 2 naming --frobnicate", code, errOut)
			}
		})
	}
}

// Each audit subcommand takes only its own flags, and list refuses a type
// or action that does not exist rather than print an empty list. These
// are refused before any store is looked for.
func TestAuditFlagsPerCommand(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"verify", "--since", "1h"}, "--since"},
		{[]string{"export", "--limit", "5"}, "--limit"},
		{[]string{"show", "--json", "k1"}, "--json"},
		{[]string{"list", "--policy", "p.yaml"}, "--policy"},
		{[]string{"list", "--type", "KEYSIGNX"}, `"KEYSIGNX"`},
		{[]string{"list", "--action", "WAIT"}, `--action: want APPROVE or REJECT, got "WAIT"`},
		{[]string{"list", "--limit", "-1"}, "--limit"},
		{[]string{"list", "--since", "yesterday"}, "--since"},
		{[]string{"show"}, "want one REQUEST_ID"},
		{[]string{"verify", "extra"}, "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runCmd(t, append([]string{"audit"}, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q: want exit 2 containing %q", code, errOut, tc.want)
			}
		})
	}
}

// Read-only commands never create a store or a data folder: a missing
// store is an error naming its path.
func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	pol := filepath.Join(wd, "p.yaml")
	writeAtomically(t, pol, approveKeysign)
	data := filepath.Join(wd, "nodata")
	for _, args := range [][]string{
		{"audit", "list", "--data-dir", data},
		{"audit", "show", "--data-dir", data, "k1"},
		{"audit", "export", "--data-dir", data},
		{"audit", "verify", "--data-dir", data},
		{"audit", "limits", "--data-dir", data, "--policy", pol},
		{"audit", "list", "--store", "sqlite:" + filepath.Join(data, "x.db")},
		{"audit", "verify"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, errOut := runCmd(t, args...)
			if code != 1 || !strings.Contains(errOut, "no decision store at") {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, p := range []string{data, filepath.Join(wd, "tssgate-data")} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Fatalf("%s was created (%v)", p, err)
				}
			}
		})
	}
	if code, _, errOut := runCmd(t, "policy", "check", pol); code != 0 {
		t.Fatalf("policy check: %d %s", code, errOut)
	}
	if entries, _ := os.ReadDir(wd); len(entries) != 1 {
		t.Fatalf("policy check created files: %v", entries)
	}
}

// version prints the stamped version and the VCS revision of the build.
func TestVersionString(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-01T09:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	if got, want := versionString("v1.2.3", bi, "BoringCrypto"), "tssgate v1.2.3, revision 0123456789abcdef0123456789abcdef01234567 2026-12-01T09:00:00Z (modified), go1.26.8, crypto BoringCrypto"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := versionString("v1.2.3", &debug.BuildInfo{GoVersion: "go1.26.8"}, "Go standard library"); !strings.Contains(got, "v1.2.3") || !strings.Contains(got, "-buildvcs=true") || !strings.HasSuffix(got, ", crypto Go standard library") {
		t.Errorf("without VCS information: %q", got)
	}
	// The binary under test names the crypto it was built with (CI runs
	// this test in both builds).
	if code, out, _ := runCmd(t, "version"); code != 0 || !strings.HasPrefix(out, "tssgate "+version+", revision ") || !strings.HasSuffix(out, ", crypto "+token.CryptoBackend()+"\n") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, errOut := runCmd(t, "version", "extra"); code != 2 || !strings.Contains(errOut, "unexpected arguments") {
		t.Errorf("version extra: %d %q", code, errOut)
	}
}
