package main

import (
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"tssgate/internal/regfile"
	"tssgate/internal/server"
	"tssgate/internal/token"
	"tssgate/internal/txverify"
)

// Config is the effective configuration of tssgate. It is built once by
// loadConfig from layers, each overriding the one before: DefaultConfig, the
// YAML file, TSSGATE_* environment variables, then flags; then it is
// validated once, as a whole. Every field is described by one entry of the
// settings table, which drives the YAML keys, variables, flags, help text
// and the README's table alike.
type Config struct {
	Listen      string
	ServiceName string
	DataDir     string
	// ServerKey is the callback server's private key. Empty means
	// DataDir/callback-server-pri.pem, generated on first run.
	ServerKey string
	// TSSNodeKeys are the public keys of the TSS Nodes allowed to call.
	// Empty means Cobo's default path, if that file exists. The keys come
	// from one layer only: flags replace the environment's list, which
	// replaces the file's (client_public_key_path plus tss_node_keys).
	TSSNodeKeys []KeyRef
	// TokenExpire is the lifetime of reply tokens (token_expire_minutes).
	TokenExpire time.Duration
	// Leeway is the clock skew tolerated on request exp/nbf/iat.
	Leeway time.Duration
	// MaxTokenLifetime bounds how far ahead a request token's exp may be.
	MaxTokenLifetime time.Duration
	// MaxConnections caps open client connections (server.ConnLimiter).
	MaxConnections int
	MaxBodyBytes   int64
	TLSCert        string
	TLSKey         string
	// Debug logs at debug level, including decoded payloads (enable_debug).
	Debug     bool
	LogFormat string
	// Dev generates and trusts a simulated TSS Node key pair. Not for
	// production: refused unless the listener is loopback and no TSS Node
	// key is configured.
	Dev bool
	// Policy is the policy file; empty means the built-in default (approve
	// PING, reject every key task).
	Policy string
	// PolicyPoll is how often the policy file is checked for changes.
	PolicyPoll time.Duration
	// Governance is the governance file (threshold and approvers); empty
	// means policies load unsigned. When set, a policy loads only with a
	// bundle (POLICY.yaml.sigs) meeting the governance in force's threshold.
	Governance string
	// Tokens extend the built-in token table of KEYSIGN verification.
	Tokens []txverify.Token
	// ABIs are the contract ABIs calls are decoded with (tssgate.abis),
	// each file read when the configuration loads.
	ABIs []txverify.ABIEntry
	// Store is the decision store: "sqlite:PATH" or a postgres:// URL.
	// Empty means sqlite in the data directory.
	Store string
	// Timeouts are the http.Server timeouts and the shutdown grace.
	Timeouts server.Timeouts
	// DecideTimeout bounds one decision (server.Config.DecideTimeout).
	DecideTimeout time.Duration
	// MetricsListen is the Prometheus /metrics listener; empty means off.
	MetricsListen string
	// HeadLogInterval is how often serve logs the decision log's head hash.
	HeadLogInterval time.Duration
	// AdminTokenFile holds the bearer token of POST /admin/freeze on the
	// metrics listener; empty means no admin endpoint.
	AdminTokenFile string

	// origins records where each setting's value came from, by setting
	// name; keyOrigins does the same for each entry of TSSNodeKeys. They
	// let errors and the start-up lines say "file:line", "TSSGATE_X" or
	// "--flag".
	origins    map[string]origin
	keyOrigins []origin
}

// StoreDSN returns the configured store, defaulting to SQLite in the data
// directory.
func (c *Config) StoreDSN() string {
	if c.Store != "" {
		return c.Store
	}
	return "sqlite:" + filepath.Join(c.DataDir, "tssgate.db")
}

// KeyRef names a TSS Node public key file.
type KeyRef struct {
	Name string
	Path string
}

// CoboDefaultTSSNodeKey is where Cobo's templates look for the TSS Node's
// callback public key, relative to the working directory.
const CoboDefaultTSSNodeKey = "configs/tss-node-callback-pub.key"

// DefaultConfig returns the embedded defaults tssgate runs with when nothing
// else is given.
func DefaultConfig() Config {
	return Config{
		Listen:           "127.0.0.1:11020",
		ServiceName:      server.DefaultServiceName,
		DataDir:          "./tssgate-data",
		TokenExpire:      2 * time.Minute,
		Leeway:           30 * time.Second,
		MaxTokenLifetime: token.DefaultMaxLifetime,
		MaxConnections:   server.DefaultMaxConnections,
		MaxBodyBytes:     server.DefaultMaxBodyBytes,
		LogFormat:        "json",
		PolicyPoll:       2 * time.Second,
		MetricsListen:    "127.0.0.1:9120",
		HeadLogInterval:  time.Minute,
		Timeouts:         server.DefaultTimeouts(),
		DecideTimeout:    server.DefaultDecideTimeout,
	}
}

// Layers of the configuration, lowest first.
const (
	layerDefault = iota
	layerFile
	layerEnv
	layerFlag
)

// origin is where one value came from.
type origin struct {
	layer int
	file  string // layerFile: the config file
	line  int    // layerFile: its line
	key   string // the YAML key, variable or flag, as the user wrote it
}

// String names the origin for messages: "FILE:LINE", "TSSGATE_X", "--flag"
// or "the default".
func (o origin) String() string {
	switch o.layer {
	case layerFile:
		return fmt.Sprintf("%s:%d", o.file, o.line)
	case layerEnv, layerFlag:
		return o.key
	}
	return "the default"
}

// errorf formats a problem with the value of setting name that came from o:
// "FILE:LINE: yaml.key: msg" for the file, "name: msg (from --flag)"
// otherwise, so every message names where to fix it.
func (o origin) errorf(name, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if o.layer == layerFile {
		return fmt.Errorf("%s:%d: %s: %s", o.file, o.line, o.key, msg)
	}
	if o.layer == layerDefault {
		return fmt.Errorf("%s: %s (the default)", name, msg)
	}
	return fmt.Errorf("%s: %s (from %s)", name, msg, o.key)
}

// setting describes one configuration setting. The settings table is the
// only place a setting is declared: YAML keys, TSSGATE_* variables, flags,
// help text, defaults and the README's table (checked by a test) all come
// from it.
type setting struct {
	name string // the setting's name in messages and the README
	yaml string // dotted YAML path; "" means no YAML key
	env  string // environment variable; "" means none
	flag string // flag name without dashes; "" means none
	// arg names the flag's value in help; "" for a boolean flag.
	arg  string
	help string
	// def is the default as documented; "" means the value of get on
	// DefaultConfig.
	def string
	// get formats the current value, for defaults and the start-up line;
	// nil for settings whose value is not one scalar.
	get func(c *Config) string
	// set parses a text value (variable, flag or YAML scalar) into c.
	set func(c *Config, v string, o origin) error
	// node, when set, decodes the YAML value instead of set (lists).
	node func(c *Config, n *yaml.Node, o origin) error
	// check validates the merged value without changing it; the message
	// is reported against the value's origin.
	check func(c *Config) string
}

// Default returns the setting's documented default.
func (s *setting) Default() string {
	if s.def != "" {
		return s.def
	}
	if s.get == nil {
		return ""
	}
	d := DefaultConfig()
	return s.get(&d)
}

func strSetting(dst func(c *Config) *string) (func(*Config) string, func(*Config, string, origin) error) {
	return func(c *Config) string { return *dst(c) },
		func(c *Config, v string, _ origin) error { *dst(c) = v; return nil }
}

func durSetting(dst func(c *Config) *time.Duration, example string) (func(*Config) string, func(*Config, string, origin) error) {
	return func(c *Config) string { return dst(c).String() },
		func(c *Config, v string, _ origin) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("not a duration (e.g. %s): %q", example, v)
			}
			*dst(c) = d
			return nil
		}
}

func boolSetting(dst func(c *Config) *bool) (func(*Config) string, func(*Config, string, origin) error) {
	return func(c *Config) string { return strconv.FormatBool(*dst(c)) },
		func(c *Config, v string, _ origin) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("not a boolean (true or false): %q", v)
			}
			*dst(c) = b
			return nil
		}
}

func durRange(get func(c *Config) time.Duration, lo, hi time.Duration, loText, hiText string) func(c *Config) string {
	return func(c *Config) string {
		if d := get(c); d < lo || d > hi {
			return fmt.Sprintf("must be between %s and %s, got %s", loText, hiText, d)
		}
		return ""
	}
}

// settings is the table of every setting. Order is the order of help text
// and of the README's table.
var settings = buildSettings()

func buildSettings() []*setting {
	s := []*setting{{
		name: "config", env: "TSSGATE_CONFIG", flag: "config", arg: "FILE", def: "none",
		help: "YAML config file (Cobo's callback_server keys plus tssgate's own)",
	}}
	add := func(x *setting) { s = append(s, x) }

	x := &setting{name: "listen", yaml: "callback_server.endpoint", env: "TSSGATE_LISTEN", flag: "listen", arg: "ADDR",
		help: "listen address host:port (0.0.0.0:11020 for a TSS Node on another host)",
		check: func(c *Config) string {
			if strings.TrimSpace(c.Listen) == "" {
				return "must not be empty"
			}
			if _, _, err := net.SplitHostPort(c.Listen); err != nil {
				return fmt.Sprintf("want host:port, got %q", c.Listen)
			}
			return ""
		}}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.Listen })
	add(x)

	x = &setting{name: "service_name", yaml: "callback_server.service_name", env: "TSSGATE_SERVICE_NAME", flag: "service-name", arg: "NAME",
		help: "name reported by /ping and used as the reply token's iss"}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.ServiceName })
	add(x)

	add(&setting{name: "client_public_key_path", yaml: "callback_server.client_public_key_path", def: "none",
		help: "Cobo's template: one TSS Node public key, named by its file name",
		set: func(c *Config, v string, o origin) error {
			if strings.TrimSpace(v) == "" {
				return nil // Cobo's template may leave it empty
			}
			c.addKey(KeyRef{Path: v}, o)
			return nil
		}})

	add(&setting{name: "tss_node_keys", yaml: "tssgate.tss_node_keys", env: "TSSGATE_TSS_NODE_PUB", flag: "tss-node-pub", arg: "[NAME=]PEM",
		def:  "configs/tss-node-callback-pub.key if it exists",
		help: "TSS Node public keys: flag repeatable, variable comma-separated, YAML a list of {name, path}; NAME defaults to the file name; flags replace the variable's list, which replaces the file's",
		set: func(c *Config, v string, o origin) error {
			parts := []string{v}
			if o.layer == layerEnv {
				parts = strings.Split(v, ",")
			}
			for _, p := range parts {
				k, err := parseKeyRef(p)
				if err != nil {
					return err
				}
				c.addKey(k, o)
			}
			return nil
		},
		node: func(c *Config, n *yaml.Node, o origin) error {
			if n.Kind != yaml.SequenceNode {
				return o.errorf("", "want a list of {name, path}")
			}
			for i, item := range n.Content {
				eo := o
				eo.line, eo.key = item.Line, fmt.Sprintf("%s[%d]", o.key, i)
				fields, err := strictMapping(item, eo, "name", "path")
				if err != nil {
					return err
				}
				if strings.TrimSpace(fields["path"]) == "" {
					po := eo
					po.key += ".path"
					return po.errorf("", "required")
				}
				c.addKey(KeyRef{Name: fields["name"], Path: fields["path"]}, eo)
			}
			return nil
		},
		check: func(c *Config) string {
			names := map[string]bool{}
			for _, k := range c.TSSNodeKeys {
				if names[k.Name] {
					return fmt.Sprintf("two TSS Node keys are named %q; give each a distinct name (name=path)", k.Name)
				}
				names[k.Name] = true
			}
			return ""
		}})

	x = &setting{name: "server_key", yaml: "callback_server.service_private_key_path", env: "TSSGATE_SERVER_KEY", flag: "server-key", arg: "PEM",
		def:  "DATA/callback-server-pri.pem, generated on first run",
		help: "callback server private key PEM (PKCS#1 or PKCS#8)"}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.ServerKey })
	add(x)

	add(&setting{name: "token_expire_minutes", yaml: "callback_server.token_expire_minutes", env: "TSSGATE_TOKEN_EXPIRE_MINUTES", flag: "token-expire-minutes", arg: "N",
		help: "lifetime of reply tokens in minutes, 1-60",
		get:  func(c *Config) string { return strconv.FormatInt(int64(c.TokenExpire/time.Minute), 10) },
		set: func(c *Config, v string, _ origin) error {
			m, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("not an integer: %q", v)
			}
			if m < 0 || m > 1<<20 {
				m = -1 // out of range either way; keeps the duration from overflowing
			}
			c.TokenExpire = time.Duration(m) * time.Minute
			return nil
		},
		check: func(c *Config) string {
			if c.TokenExpire < time.Minute || c.TokenExpire > time.Hour {
				return fmt.Sprintf("must be between 1 and 60, got %d", int64(c.TokenExpire/time.Minute))
			}
			return ""
		}})

	x = &setting{name: "debug", yaml: "callback_server.enable_debug", env: "TSSGATE_DEBUG", flag: "debug",
		help: "debug logging, including decoded payloads"}
	x.get, x.set = boolSetting(func(c *Config) *bool { return &c.Debug })
	add(x)

	x = &setting{name: "store", yaml: "store", env: "TSSGATE_STORE", flag: "store", arg: "DSN",
		def:  "sqlite:DATA/tssgate.db",
		help: "decision store: sqlite:PATH or a postgres:// URL",
		check: func(c *Config) string {
			if c.Store != "" && !strings.HasPrefix(c.Store, "sqlite:") && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
				return "must be sqlite:PATH or a postgres:// URL"
			}
			return ""
		}}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.Store })
	add(x)

	x = &setting{name: "data_dir", yaml: "tssgate.data_dir", env: "TSSGATE_DATA_DIR", flag: "data-dir", arg: "DIR",
		help: "data directory (server key pair, SQLite store, dev keys)",
		check: func(c *Config) string {
			if strings.TrimSpace(c.DataDir) == "" {
				return "must not be empty"
			}
			return ""
		}}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.DataDir })
	add(x)

	x = &setting{name: "tls_cert", yaml: "tssgate.tls_cert", env: "TSSGATE_TLS_CERT", flag: "tls-cert", arg: "PEM", def: "none (plain HTTP)",
		help: "TLS certificate PEM: serve HTTPS (with tls_key)"}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.TLSCert })
	add(x)
	x = &setting{name: "tls_key", yaml: "tssgate.tls_key", env: "TSSGATE_TLS_KEY", flag: "tls-key", arg: "PEM", def: "none",
		help: "TLS private key PEM (with tls_cert)"}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.TLSKey })
	add(x)

	x = &setting{name: "leeway", yaml: "tssgate.leeway", env: "TSSGATE_LEEWAY", flag: "leeway", arg: "DURATION",
		help:  "clock skew tolerated on request exp/nbf/iat, 0s-5m",
		check: durRange(func(c *Config) time.Duration { return c.Leeway }, 0, 5*time.Minute, "0s", "5m")}
	x.get, x.set = durSetting(func(c *Config) *time.Duration { return &c.Leeway }, "30s")
	add(x)

	x = &setting{name: "max_token_lifetime", yaml: "tssgate.max_token_lifetime", env: "TSSGATE_MAX_TOKEN_LIFETIME", flag: "max-token-lifetime", arg: "DURATION",
		help:  "a request token's exp at most this far ahead (else status 20), 1m-24h",
		check: durRange(func(c *Config) time.Duration { return c.MaxTokenLifetime }, time.Minute, 24*time.Hour, "1m", "24h")}
	x.get, x.set = durSetting(func(c *Config) *time.Duration { return &c.MaxTokenLifetime }, "15m")
	add(x)

	add(&setting{name: "max_connections", yaml: "tssgate.max_connections", env: "TSSGATE_MAX_CONNECTIONS", flag: "max-connections", arg: "N",
		help: "open client connections at most, 1-65536; when full the longest-idle one is closed",
		get:  func(c *Config) string { return strconv.Itoa(c.MaxConnections) },
		set: func(c *Config, v string, _ origin) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("not an integer: %q", v)
			}
			c.MaxConnections = n
			return nil
		},
		check: func(c *Config) string {
			if c.MaxConnections < 1 || c.MaxConnections > 65536 {
				return fmt.Sprintf("must be between 1 and 65536, got %d", c.MaxConnections)
			}
			return ""
		}})

	add(&setting{name: "max_body_bytes", yaml: "tssgate.max_body_bytes", env: "TSSGATE_MAX_BODY_BYTES", flag: "max-body-bytes", arg: "N",
		help: "request body cap in bytes, 1024-67108864",
		get:  func(c *Config) string { return strconv.FormatInt(c.MaxBodyBytes, 10) },
		set: func(c *Config, v string, _ origin) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return fmt.Errorf("not an integer: %q", v)
			}
			c.MaxBodyBytes = n
			return nil
		},
		check: func(c *Config) string {
			if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
				return fmt.Sprintf("must be between 1024 and 67108864, got %d", c.MaxBodyBytes)
			}
			return ""
		}})

	x = &setting{name: "log_format", yaml: "tssgate.log_format", env: "TSSGATE_LOG_FORMAT", flag: "log-format", arg: "FORMAT",
		help: "json or text",
		check: func(c *Config) string {
			if c.LogFormat != "json" && c.LogFormat != "text" {
				return fmt.Sprintf("must be json or text, got %q", c.LogFormat)
			}
			return ""
		}}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.LogFormat })
	add(x)

	x = &setting{name: "dev", yaml: "tssgate.dev", env: "TSSGATE_DEV", flag: "dev",
		help: "generate and trust a simulated TSS Node key (for tssgate simulate); NOT FOR PRODUCTION: loopback listener only, refused with TSS Node keys configured",
		check: func(c *Config) string {
			if !c.Dev {
				return ""
			}
			if !loopback(c.Listen) {
				return fmt.Sprintf("dev mode trusts a key whose private half sits in the data folder; it is refused unless the listener is loopback (127.0.0.1 or ::1), got %q", c.Listen)
			}
			if len(c.TSSNodeKeys) > 0 {
				return fmt.Sprintf("dev mode is refused while TSS Node keys are configured (%s): a production configuration must not also trust the simulated node key", c.keyList())
			}
			return ""
		}}
	x.get, x.set = boolSetting(func(c *Config) *bool { return &c.Dev })
	add(x)

	x = &setting{name: "policy", yaml: "tssgate.policy", env: "TSSGATE_POLICY", flag: "policy", arg: "FILE",
		def:  "none: approve PING, reject every key task",
		help: "policy file (YAML with CEL rules), reloaded on SIGHUP and when it changes"}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.Policy })
	add(x)

	x = &setting{name: "policy_poll", yaml: "tssgate.policy_poll", env: "TSSGATE_POLICY_POLL", flag: "policy-poll", arg: "DURATION",
		help:  "how often the policy file and its lists are checked for changes, 10ms-1h",
		check: durRange(func(c *Config) time.Duration { return c.PolicyPoll }, 10*time.Millisecond, time.Hour, "10ms", "1h")}
	x.get, x.set = durSetting(func(c *Config) *time.Duration { return &c.PolicyPoll }, "2s")
	add(x)

	x = &setting{name: "governance", yaml: "tssgate.governance", env: "TSSGATE_GOVERNANCE", flag: "governance", arg: "FILE",
		def:  "none: policies load unsigned",
		help: "governance file (threshold and approvers' ssh-ed25519 keys): a policy then loads only with POLICY.yaml.sigs signed by threshold approvers"}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.Governance })
	add(x)

	x = &setting{name: "metrics_listen", yaml: "tssgate.metrics_listen", env: "TSSGATE_METRICS_LISTEN", flag: "metrics-listen", arg: "ADDR",
		help: "Prometheus /metrics listener host:port, apart from the check endpoint; empty turns it off, port 0 picks a free one (logged)",
		check: func(c *Config) string {
			if c.MetricsListen == "" {
				return ""
			}
			if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
				return fmt.Sprintf("want host:port or empty, got %q", c.MetricsListen)
			}
			return ""
		}}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.MetricsListen })
	add(x)

	x = &setting{name: "head_log_interval", yaml: "tssgate.head_log_interval", env: "TSSGATE_HEAD_LOG_INTERVAL", flag: "head-log-interval", arg: "DURATION",
		help:  "how often serve logs the decision log's head hash (for anchoring off the machine), 1s-24h",
		check: durRange(func(c *Config) time.Duration { return c.HeadLogInterval }, time.Second, 24*time.Hour, "1s", "24h")}
	x.get, x.set = durSetting(func(c *Config) *time.Duration { return &c.HeadLogInterval }, "1m")
	add(x)

	x = &setting{name: "admin_token_file", yaml: "tssgate.admin_token_file", env: "TSSGATE_ADMIN_TOKEN_FILE", flag: "admin-token-file", arg: "FILE",
		def:  "none (no admin endpoint)",
		help: "file (mode 0600 or stricter) holding the bearer token of POST /admin/freeze on the metrics listener",
		check: func(c *Config) string {
			if c.AdminTokenFile != "" && c.MetricsListen == "" {
				return "the admin endpoint is served on the metrics listener, and metrics_listen is empty"
			}
			return ""
		}}
	x.get, x.set = strSetting(func(c *Config) *string { return &c.AdminTokenFile })
	add(x)

	timeout := func(name, flagName, help string, dst func(c *Config) *time.Duration, lo, hi time.Duration, loText, hiText string) {
		x := &setting{name: name, yaml: "tssgate." + name, env: "TSSGATE_" + strings.ToUpper(name), flag: flagName, arg: "DURATION",
			help:  help + ", " + loText + "-" + hiText,
			check: durRange(func(c *Config) time.Duration { return *dst(c) }, lo, hi, loText, hiText)}
		x.get, x.set = durSetting(dst, dst(&Config{Timeouts: server.DefaultTimeouts(), DecideTimeout: server.DefaultDecideTimeout}).String())
		add(x)
	}
	timeout("read_header_timeout", "read-header-timeout", "time to read a request's headers", func(c *Config) *time.Duration { return &c.Timeouts.ReadHeader }, time.Second, 5*time.Minute, "1s", "5m")
	timeout("read_timeout", "read-timeout", "time to read a whole request", func(c *Config) *time.Duration { return &c.Timeouts.Read }, time.Second, 10*time.Minute, "1s", "10m")
	timeout("write_timeout", "write-timeout", "time from the end of the request headers to the end of the reply; longer than decision_timeout", func(c *Config) *time.Duration { return &c.Timeouts.Write }, time.Second, 10*time.Minute, "1s", "10m")
	timeout("idle_timeout", "idle-timeout", "how long an idle keep-alive connection is kept", func(c *Config) *time.Duration { return &c.Timeouts.Idle }, time.Second, time.Hour, "1s", "1h")
	timeout("decision_timeout", "decision-timeout", "deadline of one decision (a decision out of time is a signed non-approval)", func(c *Config) *time.Duration { return &c.DecideTimeout }, 100*time.Millisecond, 5*time.Minute, "100ms", "5m")
	timeout("shutdown_grace", "shutdown-grace", "time in-flight requests get to finish on SIGINT/SIGTERM", func(c *Config) *time.Duration { return &c.Timeouts.Shutdown }, time.Second, 10*time.Minute, "1s", "10m")

	add(&setting{name: "tokens", yaml: "tssgate.tokens", def: "the built-in table",
		help: "extend the KEYSIGN token table: a list of {token_id, chain, chain_id, contract, decimals, evm_chain_id}",
		node: decodeTokens})
	add(&setting{name: "abis", yaml: "tssgate.abis", def: "the built-in ABIs",
		help: "JSON ABI files contract calls are decoded with: a list of {file, contracts, evm_chain_id}; without contracts, for every contract on the chain",
		node: decodeABIs})
	return s
}

// settingByName returns the table entry named name; it panics on a name
// missing from the table, which is a programming error caught by tests.
func settingByName(name string) *setting {
	for _, s := range settings {
		if s.name == name {
			return s
		}
	}
	panic("tssgate: no setting " + name)
}

// loopback reports whether the listen address binds to loopback only.
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	// Literal addresses only: a name such as localhost is resolved by the
	// listener through /etc/hosts or DNS, which this check does not
	// control.
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// addKey adds a TSS Node key from origin o. A key from a higher layer than
// the keys already held replaces them: the list comes from one layer.
func (c *Config) addKey(k KeyRef, o origin) {
	if len(c.keyOrigins) > 0 && c.keyOrigins[0].layer < o.layer {
		c.TSSNodeKeys, c.keyOrigins = nil, nil
	}
	if k.Name == "" {
		k.Name = filepath.Base(k.Path)
	}
	c.TSSNodeKeys = append(c.TSSNodeKeys, k)
	c.keyOrigins = append(c.keyOrigins, o)
}

// keyOrigin returns where TSS Node key i came from.
func (c *Config) keyOrigin(i int) origin {
	if i < len(c.keyOrigins) {
		return c.keyOrigins[i]
	}
	return origin{}
}

// keyList describes every configured TSS Node key with where it came from:
// `node-a (/etc/a.pub, from tssgate.yaml:7)`.
func (c *Config) keyList() string {
	parts := make([]string, len(c.TSSNodeKeys))
	for i, k := range c.TSSNodeKeys {
		parts[i] = fmt.Sprintf("%s (%s, from %s)", k.Name, k.Path, c.keyOrigin(i))
	}
	return strings.Join(parts, ", ")
}

// origin returns where setting name's value came from.
func (c *Config) origin(name string) origin {
	if o, ok := c.origins[name]; ok {
		return o
	}
	return origin{}
}

// parseKeyRef parses "name=path" or "path".
func parseKeyRef(s string) (KeyRef, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return KeyRef{}, fmt.Errorf("empty TSS Node key")
	}
	if name, path, ok := strings.Cut(s, "="); ok {
		if name == "" || path == "" {
			return KeyRef{}, fmt.Errorf("TSS Node key %q: want name=path or path", s)
		}
		return KeyRef{Name: name, Path: path}, nil
	}
	return KeyRef{Path: s}, nil
}

// Validate checks every setting's range and the combinations, without
// changing c. Each message names the value's origin (file and line,
// variable or flag).
func (c *Config) Validate() error {
	for _, s := range settings {
		if s.check == nil {
			continue
		}
		if msg := s.check(c); msg != "" {
			return c.origin(s.name).errorf(s.name, "%s", msg)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		given := "tls_cert"
		if c.TLSCert == "" {
			given = "tls_key"
		}
		return c.origin(given).errorf(given, "tls_cert and tls_key must be given together")
	}
	if c.Timeouts.Write <= c.DecideTimeout {
		return c.origin("write_timeout").errorf("write_timeout", "must be longer than decision_timeout (%s, from %s), so a decision out of time can still be answered",
			c.DecideTimeout, c.origin("decision_timeout"))
	}
	return nil
}

// environment is the process environment the loader reads: get returns a
// variable's value, names lists every variable set (for the check that
// refuses unknown TSSGATE_* names).
type environment struct {
	get   func(string) string
	names []string
}

// osEnvironment is the process's environment.
func osEnvironment() environment {
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	return environment{get: os.Getenv, names: names}
}

// allowedTestEnv are TSSGATE_* variables that configure tests, not
// tssgate; they are documented in the README's Development section.
var allowedTestEnv = map[string]bool{
	"TSSGATE_TEST_POSTGRES":     true,
	"TSSGATE_STORE_CRASH_CHILD": true,
}

// checkEnvNames refuses a TSSGATE_* variable that is neither a setting nor
// a documented test variable, so a misspelt one (TSSGATE_LISTN) cannot
// silently leave a default in force.
func checkEnvNames(names []string) error {
	known := map[string]bool{}
	for _, s := range settings {
		if s.env != "" {
			known[s.env] = true
		}
	}
	var unknown []string
	for _, n := range names {
		if strings.HasPrefix(n, "TSSGATE_") && !known[n] && !allowedTestEnv[n] {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	var all []string
	for k := range known {
		all = append(all, k)
	}
	sort.Strings(all)
	return fmt.Errorf("unknown environment variable %s (known: %s)", strings.Join(unknown, ", "), strings.Join(all, ", "))
}

// flagValue is one setting flag as given on the command line.
type flagValue struct {
	s *setting
	v string
}

// settingFlags holds the setting flags given on a command line, in order.
type settingFlags struct {
	vals []flagValue
}

// addSettingFlags registers the flags of the named settings on fs, with
// help text from the table. Values are collected in command-line order and
// applied by loadSettings after the file and the environment, so flags win
// whatever their position.
func addSettingFlags(fs interface {
	Func(name, usage string, fn func(string) error)
	BoolFunc(name, usage string, fn func(string) error)
}, names ...string) *settingFlags {
	sf := &settingFlags{}
	for _, name := range names {
		s := settingByName(name)
		usage := s.help + " (default " + s.Default()
		if s.env != "" {
			usage += "; env " + s.env
		}
		if s.yaml != "" {
			usage += "; YAML " + s.yaml
		}
		usage += ")"
		collect := func(v string) error { sf.vals = append(sf.vals, flagValue{s, v}); return nil }
		if s.arg == "" {
			fs.BoolFunc(s.flag, usage, collect)
		} else {
			fs.Func(s.flag, usage, collect)
		}
	}
	return sf
}

// configPath returns the --config flag's value, if given.
func (sf *settingFlags) configPath() string {
	p := ""
	for _, fv := range sf.vals {
		if fv.s.name == "config" {
			p = fv.v
		}
	}
	return p
}

// loadSettings builds the configuration once: defaults, the file (--config
// or TSSGATE_CONFIG), TSSGATE_* variables, then the collected flags; then
// it validates the merged result once. Every tssgate command that reads
// configuration uses it.
func loadSettings(sf *settingFlags, env environment) (Config, error) {
	if err := checkEnvNames(env.names); err != nil {
		return Config{}, err
	}
	cfg := DefaultConfig()
	cfg.origins = map[string]origin{}
	path := sf.configPath()
	if path == "" {
		path = env.get("TSSGATE_CONFIG")
	}
	if path != "" {
		if err := cfg.applyFile(path); err != nil {
			return Config{}, err
		}
	}
	for _, s := range settings {
		if s.env == "" || s.set == nil {
			continue
		}
		v := env.get(s.env)
		if v == "" {
			continue
		}
		o := origin{layer: layerEnv, key: s.env}
		if err := s.set(&cfg, v, o); err != nil {
			return Config{}, fmt.Errorf("%s: %w", s.env, err)
		}
		cfg.origins[s.name] = o
	}
	for _, fv := range sf.vals {
		if fv.s.set == nil {
			continue
		}
		o := origin{layer: layerFlag, key: "--" + fv.s.flag}
		if err := fv.s.set(&cfg, fv.v, o); err != nil {
			return Config{}, fmt.Errorf("--%s: %w", fv.s.flag, err)
		}
		cfg.origins[fv.s.name] = o
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// addressWhitelistKey is the Cobo template's destination whitelist: no
// tssgate setting, but accepted when empty and refused otherwise, rather
// than silently not enforced.
const addressWhitelistKey = "address_whitelist"

// Bounds of the files the configuration reads: far above any real one,
// low enough that a wrong path (a log, a device) is refused quickly.
const (
	maxConfigFile = 1 << 20
	maxABIFile    = 16 << 20
)

// applyFile overlays the YAML file at path onto c. Unknown keys are errors
// naming the file, line and the known keys, so a misspelt key cannot
// silently leave a default in force.
func (c *Config) applyFile(path string) error {
	data, err := regfile.Read(path, maxConfigFile)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file changes nothing
		}
		return fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		// A second document (after ---) would otherwise be ignored silently.
		return fmt.Errorf("%s: holds more than one YAML document; put every setting in one", path)
	}
	top := &root
	if top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = top.Content[0]
	}
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return nil
	}
	return c.applyMapping(path, top, "")
}

// applyMapping applies the YAML mapping n found at dotted prefix.
func (c *Config) applyMapping(file string, n *yaml.Node, prefix string) error {
	where := prefix
	if where == "" {
		where = "the top level"
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: %s: want a mapping of keys", file, n.Line, where)
	}
	if c.origins == nil {
		c.origins = map[string]origin{}
	}
	known := knownKeys(prefix)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		full := k.Value
		if prefix != "" {
			full = prefix + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			return fmt.Errorf("%s:%d: %s: given twice (first on line %d)", file, k.Line, full, first)
		}
		seen[k.Value] = k.Line
		o := origin{layer: layerFile, file: file, line: k.Line, key: full}
		if full == addressWhitelistKey {
			if v.Kind == yaml.SequenceNode && len(v.Content) > 0 || v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
				return o.errorf("", "Cobo's template whitelist is not enforced by tssgate's configuration; express it as a policy list (tssgate serve --policy) and remove it here")
			}
			continue
		}
		var s *setting
		for _, x := range settings {
			if x.yaml == full {
				s = x
			}
		}
		switch {
		case s != nil:
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue // "key:" with no value leaves the default, as in Cobo's template
			}
			if s.node != nil {
				if err := s.node(c, v, o); err != nil {
					return err
				}
			} else {
				if v.Kind != yaml.ScalarNode {
					return o.errorf("", "want a single value")
				}
				if err := s.set(c, v.Value, o); err != nil {
					return o.errorf("", "%v", err)
				}
			}
			c.origins[s.name] = o
		case len(knownKeys(full)) > 0:
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			if err := c.applyMapping(file, v, full); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s:%d: unknown key %s (known keys: %s)", file, k.Line, full, strings.Join(known, ", "))
		}
	}
	return nil
}

// knownKeys lists the YAML keys directly under the dotted prefix.
func knownKeys(prefix string) []string {
	set := map[string]bool{}
	if prefix == "" {
		set[addressWhitelistKey] = true
	}
	for _, s := range settings {
		if s.yaml == "" {
			continue
		}
		rest := s.yaml
		if prefix != "" {
			var ok bool
			if rest, ok = strings.CutPrefix(s.yaml, prefix+"."); !ok {
				continue
			}
		}
		head, _, _ := strings.Cut(rest, ".")
		set[head] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// strictMapping reads a flow or block mapping of scalar values with only
// the given keys; o locates it.
func strictMapping(n *yaml.Node, o origin, keys ...string) (map[string]string, error) {
	if n.Kind != yaml.MappingNode {
		return nil, o.errorf("", "want a mapping with keys %s", strings.Join(keys, ", "))
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ko := o
		ko.line, ko.key = k.Line, o.key+"."+k.Value
		known := false
		for _, want := range keys {
			known = known || want == k.Value
		}
		if !known {
			return nil, fmt.Errorf("%s:%d: unknown key %s (known keys: %s)", o.file, k.Line, ko.key, strings.Join(keys, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, ko.errorf("", "given twice")
		}
		if v.Kind != yaml.ScalarNode {
			return nil, ko.errorf("", "want a single value")
		}
		if v.Tag == "!!null" {
			continue
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

// decodeTokens reads tssgate.tokens: each entry is checked against the
// built-in table and the entries before it, so a conflict names its line.
func decodeTokens(c *Config, n *yaml.Node, o origin) error {
	if n.Kind != yaml.SequenceNode {
		return o.errorf("", "want a list of tokens")
	}
	for i, item := range n.Content {
		eo := o
		eo.line, eo.key = item.Line, fmt.Sprintf("%s[%d]", o.key, i)
		f, err := strictMapping(item, eo, "token_id", "chain", "chain_id", "contract", "decimals", "evm_chain_id")
		if err != nil {
			return err
		}
		field := func(name string) origin { fo := eo; fo.key += "." + name; return fo }
		if _, ok := f["decimals"]; !ok {
			return field("decimals").errorf("", "required")
		}
		dec, err := strconv.ParseInt(f["decimals"], 10, 32)
		if err != nil {
			return field("decimals").errorf("", "not an integer: %q", f["decimals"])
		}
		if f["chain_id"] == "" {
			// Verification binds a v2 description's chain_id to the
			// entry's, and policy reads the entry's as tx.chain_id.
			return field("chain_id").errorf("", "required (Cobo's chain_id of the token, e.g. ETH)")
		}
		tok := txverify.Token{TokenID: f["token_id"], Chain: f["chain"], ChainID: f["chain_id"], Contract: f["contract"], Decimals: int32(dec)}
		if s := f["evm_chain_id"]; s != "" {
			id, ok := new(big.Int).SetString(s, 10)
			if !ok || id.Sign() <= 0 {
				return field("evm_chain_id").errorf("", "must be a positive decimal integer, got %q", s)
			}
			tok.EVMChainID = id
		}
		if _, err := txverify.DefaultRegistry().With(append(c.Tokens, tok)...); err != nil {
			return eo.errorf("", "%v", err)
		}
		c.Tokens = append(c.Tokens, tok)
	}
	return nil
}

// decodeABIs reads tssgate.abis: each entry names a JSON ABI file (read
// now, relative to the working directory like every other path), the
// contracts it is for (none: every contract on the chain) and the EVM
// chain id as a decimal string. Each entry is checked against the entries
// before it, so a conflict names its line and both files.
func decodeABIs(c *Config, n *yaml.Node, o origin) error {
	if n.Kind != yaml.SequenceNode {
		return o.errorf("", "want a list of {file, contracts, evm_chain_id}")
	}
	for i, item := range n.Content {
		eo := o
		eo.line, eo.key = item.Line, fmt.Sprintf("%s[%d]", o.key, i)
		if item.Kind != yaml.MappingNode {
			return eo.errorf("", "want a mapping with keys file, contracts, evm_chain_id")
		}
		var e txverify.ABIEntry
		var chain string
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			ko := eo
			ko.line, ko.key = k.Line, eo.key+"."+k.Value
			switch k.Value {
			case "file", "evm_chain_id":
				if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
					return ko.errorf("", "want a single value")
				}
				if k.Value == "file" {
					e.File = v.Value
				} else {
					chain = v.Value
				}
			case "contracts":
				if v.Kind != yaml.SequenceNode {
					return ko.errorf("", "want a list of contract addresses")
				}
				for _, a := range v.Content {
					if a.Kind != yaml.ScalarNode {
						return ko.errorf("", "want a list of contract addresses")
					}
					e.Contracts = append(e.Contracts, a.Value)
				}
			default:
				return fmt.Errorf("%s:%d: unknown key %s (known keys: file, contracts, evm_chain_id)", o.file, k.Line, ko.key)
			}
		}
		field := func(name string) origin { fo := eo; fo.key += "." + name; return fo }
		if e.File == "" {
			return field("file").errorf("", "required")
		}
		id, ok := new(big.Int).SetString(chain, 10)
		if !ok || id.Sign() <= 0 || chain != id.String() {
			return field("evm_chain_id").errorf("", "required, a positive decimal string like \"1\", got %q", chain)
		}
		e.EVMChainID = id
		data, err := regfile.Read(e.File, maxABIFile)
		if err != nil {
			return field("file").errorf("", "%v", err)
		}
		e.JSON = data
		if _, err := txverify.DefaultRegistry().WithABIs(append(c.ABIs, e)...); err != nil {
			return eo.errorf("", "%v", err)
		}
		c.ABIs = append(c.ABIs, e)
	}
	return nil
}
