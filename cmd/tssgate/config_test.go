package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tssgate.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// env is an environment holding exactly the variables of m.
func env(m map[string]string) environment {
	e := environment{get: func(k string) string { return m[k] }}
	for k := range m {
		e.names = append(e.names, k)
	}
	return e
}

func TestConfigCoboTemplateFile(t *testing.T) {
	cfg, err := loadConfig([]string{"--config", "testdata/cobo-template.yaml"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:11020" || cfg.ServerKey != "configs/callback-server-pri.pem" || cfg.Debug {
		t.Fatalf("cfg = %+v", cfg)
	}
	if len(cfg.TSSNodeKeys) != 1 || cfg.TSSNodeKeys[0] != (KeyRef{Name: "tss-node-callback-pub.key", Path: "configs/tss-node-callback-pub.key"}) {
		t.Fatalf("keys = %+v", cfg.TSSNodeKeys)
	}
	if cfg.TokenExpire != 2*time.Minute || cfg.Leeway != 30*time.Second {
		t.Fatalf("defaults lost: %+v", cfg)
	}
}

func TestConfigLayers(t *testing.T) {
	file := writeConfig(t, `callback_server:
  endpoint: 127.0.0.1:1111
  service_name: from-file
  token_expire_minutes: 5
tssgate:
  leeway: 10s
  tss_node_keys:
    - {name: node-a, path: a.pub}
    - {path: keys/b.pub}
`)
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"defaults", nil, nil, func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:11020" || c.DataDir != "./tssgate-data" || c.MaxBodyBytes != 1<<20 || c.LogFormat != "json" ||
				c.StoreDSN() != "sqlite:tssgate-data/tssgate.db" {
				t.Errorf("%+v", c)
			}
		}},
		{"file", []string{"--config", file}, nil, func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:1111" || c.ServiceName != "from-file" || c.TokenExpire != 5*time.Minute || c.Leeway != 10*time.Second {
				t.Errorf("%+v", c)
			}
			if len(c.TSSNodeKeys) != 2 || c.TSSNodeKeys[0].Name != "node-a" || c.TSSNodeKeys[1].Name != "b.pub" {
				t.Errorf("keys %+v", c.TSSNodeKeys)
			}
		}},
		{"env over file", []string{"--config", file}, map[string]string{"TSSGATE_LISTEN": "127.0.0.1:2222", "TSSGATE_TSS_NODE_PUB": "x=/k/x.pub,/k/y.pub"}, func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:2222" || c.ServiceName != "from-file" {
				t.Errorf("%+v", c)
			}
			if len(c.TSSNodeKeys) != 2 || c.TSSNodeKeys[0] != (KeyRef{"x", "/k/x.pub"}) || c.TSSNodeKeys[1] != (KeyRef{"y.pub", "/k/y.pub"}) {
				t.Errorf("keys %+v", c.TSSNodeKeys)
			}
		}},
		{"store from env and flag", []string{"--store", "postgres://db/x"}, map[string]string{"TSSGATE_STORE": "sqlite:/tmp/a.db"}, func(t *testing.T, c Config) {
			if c.StoreDSN() != "postgres://db/x" {
				t.Errorf("store %q", c.StoreDSN())
			}
		}},
		{"config file from env", nil, map[string]string{"TSSGATE_CONFIG": file}, func(t *testing.T, c Config) {
			if c.ServiceName != "from-file" {
				t.Errorf("%+v", c)
			}
		}},
		{"flags over env", []string{"--config", file, "--listen", "127.0.0.1:3333", "--tss-node-pub", "n1=/a.pub", "--tss-node-pub", "/b.pub", "--leeway", "0s"}, map[string]string{"TSSGATE_LISTEN": "127.0.0.1:2222"}, func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:3333" || c.Leeway != 0 {
				t.Errorf("%+v", c)
			}
			if len(c.TSSNodeKeys) != 2 || c.TSSNodeKeys[0].Name != "n1" || c.TSSNodeKeys[1].Name != "b.pub" {
				t.Errorf("keys %+v", c.TSSNodeKeys)
			}
		}},
	}
	lim := writeConfig(t, "tssgate:\n  max_connections: 64\n  max_token_lifetime: 5m\n")
	tests = append(tests, []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"cap and lifetime defaults", nil, nil, func(t *testing.T, c Config) {
			if c.MaxConnections != 256 || c.MaxTokenLifetime != 15*time.Minute {
				t.Errorf("max_connections %d, max_token_lifetime %s", c.MaxConnections, c.MaxTokenLifetime)
			}
		}},
		{"cap and lifetime from file", []string{"--config", lim}, nil, func(t *testing.T, c Config) {
			if c.MaxConnections != 64 || c.MaxTokenLifetime != 5*time.Minute {
				t.Errorf("max_connections %d, max_token_lifetime %s", c.MaxConnections, c.MaxTokenLifetime)
			}
		}},
		{"cap and lifetime env over file", []string{"--config", lim}, map[string]string{"TSSGATE_MAX_CONNECTIONS": "32", "TSSGATE_MAX_TOKEN_LIFETIME": "1h"}, func(t *testing.T, c Config) {
			if c.MaxConnections != 32 || c.MaxTokenLifetime != time.Hour {
				t.Errorf("max_connections %d, max_token_lifetime %s", c.MaxConnections, c.MaxTokenLifetime)
			}
		}},
		{"cap and lifetime flags over env", []string{"--max-connections", "8", "--max-token-lifetime", "2m"}, map[string]string{"TSSGATE_MAX_CONNECTIONS": "32"}, func(t *testing.T, c Config) {
			if c.MaxConnections != 8 || c.MaxTokenLifetime != 2*time.Minute {
				t.Errorf("max_connections %d, max_token_lifetime %s", c.MaxConnections, c.MaxTokenLifetime)
			}
		}},
	}...)
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

// Every bad setting is refused with a message naming the file, line and
// field (or the variable or flag).
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		args []string
		env  map[string]string
		want string
	}{
		{name: "unknown key", file: "callback_server:\n  endpoint: x:1\n  endpoitn: y\n", want: ":3: unknown key callback_server.endpoitn (known keys: client_public_key_path, enable_debug, endpoint, service_name, service_private_key_path, token_expire_minutes)"},
		{name: "unknown section", file: "tssgate:\n  dev: true\npolicy_file: p.yaml\n", want: ":3: unknown key policy_file (known keys: address_whitelist, callback_server, store, tssgate)"},
		{name: "wrong type", file: "callback_server:\n  token_expire_minutes: soon\n", want: ":2: callback_server.token_expire_minutes: not an integer"},
		{name: "token_expire_minutes out of range", file: "callback_server:\n  endpoint: x:1\n  token_expire_minutes: 0\n", want: ":3: callback_server.token_expire_minutes: must be between 1 and 60"},
		{name: "template whitelist", file: "callback_server:\n  endpoint: x:1\naddress_whitelist:\n  - 0xabc\n", want: ":3: address_whitelist: "},
		{name: "bad leeway", file: "tssgate:\n  leeway: soon\n", want: ":2: tssgate.leeway: not a duration"},
		{name: "leeway too large", file: "tssgate:\n  leeway: 1h\n", want: ":2: tssgate.leeway: must be between"},
		{name: "key without path", file: "tssgate:\n  tss_node_keys:\n    - name: a\n", want: ":3: tssgate.tss_node_keys[0].path: required"},
		{name: "duplicate key names", file: "tssgate:\n  tss_node_keys:\n    - {name: a, path: x}\n    - {name: a, path: y}\n", want: ":2: tssgate.tss_node_keys: two TSS Node keys are named \"a\""},
		{name: "tls half", file: "tssgate:\n  tls_cert: c.pem\n", want: ":2: tssgate.tls_cert: tls_cert and tls_key must be given together"},
		{name: "two documents", file: "callback_server:\n  endpoint: x:1\n---\ntssgate:\n  dev: true\n", want: "more than one YAML document"},
		{name: "bad store", file: "store: mysql://x\n", want: ":1: store: must be sqlite:PATH or a postgres:// URL"},
		{name: "log format", file: "tssgate:\n  log_format: xml\n", want: ":2: tssgate.log_format: must be json or text"},
		{name: "not yaml", file: "callback_server: [\n", want: "tssgate.yaml"},
		{name: "token without decimals", file: "tssgate:\n  tokens:\n    - {token_id: ARB_ETH, chain: evm, evm_chain_id: \"42161\"}\n", want: ":3: tssgate.tokens[0].decimals: required"},
		{name: "token on an unknown chain", file: "tssgate:\n  tokens:\n    - {token_id: X, chain: cosmos, chain_id: X, decimals: 6}\n", want: ":3: tssgate.tokens[0]: "},
		{name: "token without chain_id", file: "tssgate:\n  tokens:\n    - {token_id: ARB_USDC, chain: evm, contract: \"0xaf88d065e77c8cC2239327C5EDb3A432268e5831\", decimals: 6, evm_chain_id: \"42161\"}\n", want: ":3: tssgate.tokens[0].chain_id: required"},
		{name: "token aliasing a built-in asset", file: "tssgate:\n  tokens:\n    - {token_id: USDT_ERC20, chain: evm, chain_id: ETH, contract: \"0xdAC17F958D2ee523a2206206994597C13D831ec7\", decimals: 6, evm_chain_id: \"1\"}\n", want: `:3: tssgate.tokens[0]: txverify: token "USDT_ERC20": same asset as "ETH_USDT"`},
		{name: "second native coin on chain 1", file: "tssgate:\n  tokens:\n    - {token_id: ETH_MAINNET, chain: evm, chain_id: ETH, decimals: 18, evm_chain_id: \"1\"}\n", want: `:3: tssgate.tokens[0]: txverify: token "ETH_MAINNET": same asset as "ETH"`},
		{name: "two entries for one asset", file: "tssgate:\n  tokens:\n    - {token_id: ARB_ETH, chain: evm, chain_id: ARB_ETH, decimals: 18, evm_chain_id: \"42161\"}\n    - {token_id: ARB_ETH2, chain: evm, chain_id: ARB_ETH, decimals: 18, evm_chain_id: \"42161\"}\n", want: `:4: tssgate.tokens[1]: txverify: token "ARB_ETH2": same asset as "ARB_ETH"`},
		{name: "token redefining a built-in", file: "tssgate:\n  tokens:\n    - {token_id: ETH_USDT, chain: evm, chain_id: ETH, contract: \"0x0000000000000000000000000000000000000001\", decimals: 6, evm_chain_id: \"1\"}\n", want: ":3: tssgate.tokens[0]: "},
		{name: "bad evm chain id", file: "tssgate:\n  tokens:\n    - {token_id: X, chain: evm, chain_id: X, decimals: 18, evm_chain_id: \"-1\"}\n", want: ":3: tssgate.tokens[0].evm_chain_id"},
		{name: "bad max_token_lifetime", file: "tssgate:\n  leeway: 10s\n  max_token_lifetime: forever\n", want: ":3: tssgate.max_token_lifetime: not a duration"},
		{name: "max_token_lifetime too short", file: "tssgate:\n  max_token_lifetime: 10s\n", want: ":2: tssgate.max_token_lifetime: must be between 1m and 24h, got 10s"},
		{name: "max_token_lifetime too long", file: "tssgate:\n  max_token_lifetime: 48h\n", want: ":2: tssgate.max_token_lifetime: must be between 1m and 24h"},
		{name: "max_connections zero", file: "tssgate:\n  dev: false\n  max_connections: 0\n", want: ":3: tssgate.max_connections: must be between 1 and 65536, got 0"},
		{name: "max_connections not a number", file: "tssgate:\n  max_connections: many\n", want: ":2: tssgate.max_connections: not an integer"},
		{name: "bad env max_connections", env: map[string]string{"TSSGATE_MAX_CONNECTIONS": "lots"}, want: "TSSGATE_MAX_CONNECTIONS: not an integer"},
		{name: "env max_connections out of range", env: map[string]string{"TSSGATE_MAX_CONNECTIONS": "-1"}, want: "max_connections: must be between 1 and 65536"},
		{name: "bad env max_token_lifetime", env: map[string]string{"TSSGATE_MAX_TOKEN_LIFETIME": "1 hour"}, want: "TSSGATE_MAX_TOKEN_LIFETIME: not a duration"},
		{name: "flag max_token_lifetime out of range", args: []string{"--max-token-lifetime", "25h"}, want: "max_token_lifetime: must be between"},
		{name: "flag max_connections out of range", args: []string{"--max-connections", "100000"}, want: "max_connections: must be between"},
		{name: "missing file", args: []string{"--config", "/nonexistent/tssgate.yaml"}, want: "/nonexistent/tssgate.yaml"},
		{name: "bad env", env: map[string]string{"TSSGATE_LEEWAY": "abc"}, want: "TSSGATE_LEEWAY"},
		{name: "bad env bool", env: map[string]string{"TSSGATE_DEV": "yes please"}, want: "TSSGATE_DEV"},
		{name: "bad flag range", args: []string{"--token-expire-minutes", "100"}, want: "token_expire_minutes"},
		{name: "bad key flag", args: []string{"--tss-node-pub", "=x"}, want: "name=path"},
		{name: "stray argument", args: []string{"extra"}, want: "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append([]string{"--config", writeConfig(t, tc.file)}, args...)
			}
			_, err := loadConfig(args, env(tc.env), io.Discard)
			if err == nil {
				t.Fatal("loadConfig succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
			if tc.file != "" && !strings.Contains(err.Error(), "tssgate.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
}

func TestConfigFileOnDisk(t *testing.T) {
	// An empty file is valid and changes nothing.
	c, err := loadConfig([]string{"--config", writeConfig(t, "")}, env(nil), io.Discard)
	if err != nil || c.Listen != DefaultConfig().Listen {
		t.Fatalf("empty file: %+v %v", c, err)
	}
	if _, err := os.Stat("testdata/cobo-template.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestConfigTokens(t *testing.T) {
	file := writeConfig(t, `tssgate:
  tokens:
    - {token_id: ARB_ETH, chain: evm, chain_id: ARB_ETH, decimals: 18, evm_chain_id: "42161"}
    - {token_id: ARB_USDC, chain: evm, chain_id: ARB_ETH, contract: "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", decimals: 6, evm_chain_id: "42161"}
`)
	c, err := loadConfig([]string{"--config", file}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tokens) != 2 || c.Tokens[0].TokenID != "ARB_ETH" || c.Tokens[0].EVMChainID.Int64() != 42161 || c.Tokens[1].Decimals != 6 {
		t.Fatalf("tokens %+v", c.Tokens)
	}
	if _, err := txVerifier(c.Tokens, c.ABIs); err != nil {
		t.Fatal(err)
	}
}

func TestConfigABIs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "router.json")
	if err := os.WriteFile(good, []byte(`[{"type":"function","name":"swap","inputs":[{"name":"amountIn","type":"uint256"}]}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(bad, []byte(`{"not":"an abi"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig([]string{"--config", writeConfig(t, "tssgate:\n  abis:\n    - {file: "+good+", contracts: [\"0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD\"], evm_chain_id: \"1\"}\n    - {file: "+good+", evm_chain_id: \"56\"}\n")}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ABIs) != 2 || c.ABIs[0].EVMChainID.Int64() != 1 || len(c.ABIs[0].Contracts) != 1 || len(c.ABIs[1].Contracts) != 0 {
		t.Fatalf("abis %+v", c.ABIs)
	}
	if _, err := txVerifier(c.Tokens, c.ABIs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"broken file named", "    - {file: " + bad + ", evm_chain_id: \"1\"}\n", ":3: tssgate.abis[0]: " + bad + ": not a JSON ABI"},
		{"missing file named", "    - {file: " + filepath.Join(dir, "nope.json") + ", evm_chain_id: \"1\"}\n", ":3: tssgate.abis[0].file: open " + filepath.Join(dir, "nope.json")},
		{"chain id required", "    - {file: " + good + "}\n", ":3: tssgate.abis[0].evm_chain_id: required"},
		{"chain id decimal", "    - {file: " + good + ", evm_chain_id: \"0x1\"}\n", "evm_chain_id: required, a positive decimal string"},
		{"unknown key", "    - {file: " + good + ", evm_chain_id: \"1\", contract: [\"0x1\"]}\n", "unknown key tssgate.abis[0].contract (known keys: file, contracts, evm_chain_id)"},
		{"bad contract", "    - {file: " + good + ", evm_chain_id: \"1\", contracts: [\"0x12\"]}\n", `contract "0x12" is not 0x and 40 hex digits`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig([]string{"--config", writeConfig(t, "tssgate:\n  abis:\n"+tc.yaml)}, env(nil), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
