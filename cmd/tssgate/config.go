package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"tssgate/internal/server"
	"tssgate/internal/token"
	"tssgate/internal/txverify"
)

// Config is the effective configuration of `tssgate serve`. It is built in
// layers, each overriding the one before: DefaultConfig, the YAML file,
// TSSGATE_* environment variables, then flags given on the command line.
type Config struct {
	Listen      string
	ServiceName string
	DataDir     string
	// ServerKey is the callback server's private key. Empty means
	// DataDir/callback-server-pri.pem, generated on first run.
	ServerKey string
	// TSSNodeKeys are the public keys of the TSS Nodes allowed to call.
	// Empty means Cobo's default path, if that file exists.
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
	// production.
	Dev bool
	// Policy is the policy file; empty means the built-in default (approve
	// PING, reject every key task).
	Policy string
	// PolicyPoll is how often the policy file is checked for changes.
	PolicyPoll time.Duration
	// Tokens extend the built-in token table of KEYSIGN verification.
	Tokens []txverify.Token
	// Store is the decision store: "sqlite:PATH" or a postgres:// URL.
	// Empty means sqlite in the data directory.
	Store string
}

// StoreDSN returns the configured store, defaulting to SQLite in the data
// directory.
func (c *Config) StoreDSN() string {
	if c.Store != "" {
		return c.Store
	}
	return "sqlite:" + filepath.Join(c.DataDir, "tssgate.db")
}

// tokenEntry is one tssgate.tokens item: a Cobo token_id and how to decode
// and check its transactions.
type tokenEntry struct {
	TokenID    string `yaml:"token_id"`
	Chain      string `yaml:"chain"`
	ChainID    string `yaml:"chain_id"`
	Contract   string `yaml:"contract"`
	Decimals   *int32 `yaml:"decimals"`
	EVMChainID string `yaml:"evm_chain_id"`
}

// KeyRef names a TSS Node public key file.
type KeyRef struct {
	Name string
	Path string
}

// CoboDefaultTSSNodeKey is where Cobo's templates look for the TSS Node's
// callback public key, relative to the working directory.
const CoboDefaultTSSNodeKey = "configs/tss-node-callback-pub.key"

// DefaultConfig returns the embedded defaults `tssgate serve` runs with when
// nothing else is given.
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
	}
}

// fileConfig is the YAML file. callback_server holds the keys of Cobo's
// template config with their meaning; tssgate's own keys live under
// tssgate. Pointers distinguish "absent" from a zero value.
type fileConfig struct {
	CallbackServer struct {
		Endpoint              *string `yaml:"endpoint"`
		ServiceName           *string `yaml:"service_name"`
		ClientPublicKeyPath   *string `yaml:"client_public_key_path"`
		ServicePrivateKeyPath *string `yaml:"service_private_key_path"`
		TokenExpireMinutes    *int    `yaml:"token_expire_minutes"`
		EnableDebug           *bool   `yaml:"enable_debug"`
	} `yaml:"callback_server"`
	// Store is the decision store DSN.
	Store *string `yaml:"store"`
	// AddressWhitelist is the Cobo template's destination whitelist. tssgate
	// refuses to start with a non-empty one rather than ignore it.
	AddressWhitelist []string `yaml:"address_whitelist"`
	Tssgate          struct {
		DataDir          *string      `yaml:"data_dir"`
		TSSNodeKeys      []KeyRef     `yaml:"tss_node_keys"`
		TLSCert          *string      `yaml:"tls_cert"`
		TLSKey           *string      `yaml:"tls_key"`
		Leeway           *string      `yaml:"leeway"`
		MaxTokenLifetime *string      `yaml:"max_token_lifetime"`
		MaxConnections   *int         `yaml:"max_connections"`
		MaxBodyBytes     *int64       `yaml:"max_body_bytes"`
		LogFormat        *string      `yaml:"log_format"`
		Dev              *bool        `yaml:"dev"`
		Policy           *string      `yaml:"policy"`
		Tokens           []tokenEntry `yaml:"tokens"`
	} `yaml:"tssgate"`
}

// UnmarshalYAML lets yaml.v3 decode KeyRef's lower-case keys.
func (k *KeyRef) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Name string `yaml:"name"`
		Path string `yaml:"path"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	k.Name, k.Path = raw.Name, raw.Path
	return nil
}

// configError names the file, line and field of a bad configuration value.
func configError(file string, line int, field, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", file, line, field, fmt.Sprintf(format, args...))
}

// applyFile overlays the YAML file at path onto c. Unknown keys are errors,
// so a misspelt key cannot silently leave a default in force.
func (c *Config) applyFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		// A second document (after ---) would otherwise be ignored silently.
		return fmt.Errorf("%s: holds more than one YAML document; put every setting in one", path)
	}
	line := func(keys ...string) int { return lineOf(&root, keys...) }

	cs := fc.CallbackServer
	if cs.Endpoint != nil {
		if strings.TrimSpace(*cs.Endpoint) == "" {
			return configError(path, line("callback_server", "endpoint"), "callback_server.endpoint", "must not be empty")
		}
		c.Listen = *cs.Endpoint
	}
	if cs.ServiceName != nil {
		c.ServiceName = *cs.ServiceName
	}
	if cs.ClientPublicKeyPath != nil && *cs.ClientPublicKeyPath != "" {
		c.TSSNodeKeys = append(c.TSSNodeKeys, KeyRef{Path: *cs.ClientPublicKeyPath})
	}
	if cs.ServicePrivateKeyPath != nil {
		c.ServerKey = *cs.ServicePrivateKeyPath
	}
	if cs.TokenExpireMinutes != nil {
		m := *cs.TokenExpireMinutes
		if m < 1 || m > 60 {
			return configError(path, line("callback_server", "token_expire_minutes"), "callback_server.token_expire_minutes", "must be between 1 and 60, got %d", m)
		}
		c.TokenExpire = time.Duration(m) * time.Minute
	}
	if cs.EnableDebug != nil {
		c.Debug = *cs.EnableDebug
	}
	if len(fc.AddressWhitelist) > 0 {
		return configError(path, line("address_whitelist"), "address_whitelist",
			"Cobo's template whitelist is not enforced by tssgate's configuration; express it as a policy list (tssgate serve --policy) and remove it here")
	}

	if fc.Store != nil {
		c.Store = *fc.Store
	}
	t := fc.Tssgate
	if t.DataDir != nil {
		c.DataDir = *t.DataDir
	}
	for i, k := range t.TSSNodeKeys {
		if k.Path == "" {
			return configError(path, lineOf(&root, "tssgate", "tss_node_keys", strconv.Itoa(i)), fmt.Sprintf("tssgate.tss_node_keys[%d].path", i), "required")
		}
		c.TSSNodeKeys = append(c.TSSNodeKeys, k)
	}
	if t.TLSCert != nil {
		c.TLSCert = *t.TLSCert
	}
	if t.TLSKey != nil {
		c.TLSKey = *t.TLSKey
	}
	if t.Leeway != nil {
		d, err := time.ParseDuration(*t.Leeway)
		if err != nil {
			return configError(path, line("tssgate", "leeway"), "tssgate.leeway", "not a duration (e.g. 30s): %q", *t.Leeway)
		}
		c.Leeway = d
	}
	if t.MaxTokenLifetime != nil {
		d, err := time.ParseDuration(*t.MaxTokenLifetime)
		if err != nil {
			return configError(path, line("tssgate", "max_token_lifetime"), "tssgate.max_token_lifetime", "not a duration (e.g. 15m): %q", *t.MaxTokenLifetime)
		}
		c.MaxTokenLifetime = d
	}
	if t.MaxConnections != nil {
		c.MaxConnections = *t.MaxConnections
	}
	if t.MaxBodyBytes != nil {
		c.MaxBodyBytes = *t.MaxBodyBytes
	}
	if t.LogFormat != nil {
		c.LogFormat = *t.LogFormat
	}
	if t.Dev != nil {
		c.Dev = *t.Dev
	}
	if t.Policy != nil {
		c.Policy = *t.Policy
	}
	for i, e := range t.Tokens {
		field := fmt.Sprintf("tssgate.tokens[%d]", i)
		at := lineOf(&root, "tssgate", "tokens", strconv.Itoa(i))
		if e.Decimals == nil {
			return configError(path, at, field+".decimals", "required")
		}
		if e.ChainID == "" {
			// Verification binds a v2 description's chain_id to the
			// entry's, and policy reads the entry's as tx.chain_id.
			return configError(path, at, field+".chain_id", "required (Cobo's chain_id of the token, e.g. ETH)")
		}
		tok := txverify.Token{TokenID: e.TokenID, Chain: e.Chain, ChainID: e.ChainID, Contract: e.Contract, Decimals: *e.Decimals}
		if e.EVMChainID != "" {
			id, ok := new(big.Int).SetString(e.EVMChainID, 10)
			if !ok || id.Sign() <= 0 {
				return configError(path, at, field+".evm_chain_id", "must be a positive decimal integer, got %q", e.EVMChainID)
			}
			tok.EVMChainID = id
		}
		if _, err := txverify.DefaultRegistry().With(append(c.Tokens, tok)...); err != nil {
			return configError(path, at, field, "%v", err)
		}
		c.Tokens = append(c.Tokens, tok)
	}
	// Range checks shared with env and flags, reported with the file's line.
	if err := c.Validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) && fe.yamlPath != nil {
			return configError(path, line(fe.yamlPath...), strings.Join(fe.yamlPath, "."), "%s", fe.msg)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// lineOf returns the line of the value at keys in a YAML document, or of the
// deepest key found. Sequence indexes are given as decimal strings.
func lineOf(root *yaml.Node, keys ...string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, k := range keys {
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					line = n.Content[i].Line
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return line
			}
		case yaml.SequenceNode:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

// fieldError is a validation failure of one setting; yamlPath locates it in
// the config file when it came from there.
type fieldError struct {
	name     string
	yamlPath []string
	msg      string
}

func (e *fieldError) Error() string { return e.name + ": " + e.msg }

// Validate checks ranges and combinations. It returns a *fieldError naming
// the setting.
func (c *Config) Validate() error {
	switch {
	case strings.TrimSpace(c.Listen) == "":
		return &fieldError{"listen", []string{"callback_server", "endpoint"}, "must not be empty"}
	case c.TokenExpire < time.Minute || c.TokenExpire > time.Hour:
		return &fieldError{"token_expire_minutes", []string{"callback_server", "token_expire_minutes"}, fmt.Sprintf("must be between 1 and 60 minutes, got %s", c.TokenExpire)}
	case c.Leeway < 0 || c.Leeway > 5*time.Minute:
		return &fieldError{"leeway", []string{"tssgate", "leeway"}, fmt.Sprintf("must be between 0s and 5m, got %s", c.Leeway)}
	case c.MaxTokenLifetime < time.Minute || c.MaxTokenLifetime > 24*time.Hour:
		return &fieldError{"max_token_lifetime", []string{"tssgate", "max_token_lifetime"}, fmt.Sprintf("must be between 1m and 24h, got %s", c.MaxTokenLifetime)}
	case c.MaxConnections < 1 || c.MaxConnections > 65536:
		return &fieldError{"max_connections", []string{"tssgate", "max_connections"}, fmt.Sprintf("must be between 1 and 65536, got %d", c.MaxConnections)}
	case c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20:
		return &fieldError{"max_body_bytes", []string{"tssgate", "max_body_bytes"}, fmt.Sprintf("must be between 1024 and 67108864, got %d", c.MaxBodyBytes)}
	case c.LogFormat != "json" && c.LogFormat != "text":
		return &fieldError{"log_format", []string{"tssgate", "log_format"}, fmt.Sprintf("must be json or text, got %q", c.LogFormat)}
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return &fieldError{"tls", []string{"tssgate", "tls_cert"}, "tls_cert and tls_key must be given together"}
	case c.PolicyPoll < 10*time.Millisecond || c.PolicyPoll > time.Hour:
		return &fieldError{"policy_poll", nil, fmt.Sprintf("must be between 10ms and 1h, got %s", c.PolicyPoll)}
	case c.Store != "" && !strings.HasPrefix(c.Store, "sqlite:") && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://"):
		return &fieldError{"store", []string{"store"}, "must be sqlite:PATH or a postgres:// URL"}
	case strings.TrimSpace(c.DataDir) == "":
		return &fieldError{"data_dir", []string{"tssgate", "data_dir"}, "must not be empty"}
	}
	names := map[string]bool{}
	for i := range c.TSSNodeKeys {
		k := &c.TSSNodeKeys[i]
		if k.Name == "" {
			k.Name = filepath.Base(k.Path)
		}
		if names[k.Name] {
			return &fieldError{"tss_node_keys", []string{"tssgate", "tss_node_keys"}, fmt.Sprintf("two TSS Node keys are named %q; give each a distinct name (name=path)", k.Name)}
		}
		names[k.Name] = true
	}
	return nil
}

// parseKeyRef parses "name=path" or "path".
func parseKeyRef(s string) (KeyRef, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return KeyRef{}, errors.New("empty TSS Node key")
	}
	if name, path, ok := strings.Cut(s, "="); ok {
		if name == "" || path == "" {
			return KeyRef{}, fmt.Errorf("TSS Node key %q: want name=path or path", s)
		}
		return KeyRef{Name: name, Path: path}, nil
	}
	return KeyRef{Path: s}, nil
}

// applyEnv overlays TSSGATE_* variables. getenv is os.Getenv in production.
func (c *Config) applyEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("TSSGATE_LISTEN", &c.Listen)
	str("TSSGATE_SERVICE_NAME", &c.ServiceName)
	str("TSSGATE_DATA_DIR", &c.DataDir)
	str("TSSGATE_SERVER_KEY", &c.ServerKey)
	str("TSSGATE_TLS_CERT", &c.TLSCert)
	str("TSSGATE_TLS_KEY", &c.TLSKey)
	str("TSSGATE_LOG_FORMAT", &c.LogFormat)
	str("TSSGATE_POLICY", &c.Policy)
	str("TSSGATE_STORE", &c.Store)
	if v := getenv("TSSGATE_TSS_NODE_PUB"); v != "" {
		c.TSSNodeKeys = nil
		for _, part := range strings.Split(v, ",") {
			k, err := parseKeyRef(part)
			if err != nil {
				return fmt.Errorf("TSSGATE_TSS_NODE_PUB: %w", err)
			}
			c.TSSNodeKeys = append(c.TSSNodeKeys, k)
		}
	}
	if v := getenv("TSSGATE_TOKEN_EXPIRE_MINUTES"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("TSSGATE_TOKEN_EXPIRE_MINUTES: not an integer: %q", v)
		}
		c.TokenExpire = time.Duration(m) * time.Minute
	}
	if v := getenv("TSSGATE_LEEWAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("TSSGATE_LEEWAY: not a duration: %q", v)
		}
		c.Leeway = d
	}
	if v := getenv("TSSGATE_MAX_TOKEN_LIFETIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("TSSGATE_MAX_TOKEN_LIFETIME: not a duration: %q", v)
		}
		c.MaxTokenLifetime = d
	}
	if v := getenv("TSSGATE_MAX_CONNECTIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("TSSGATE_MAX_CONNECTIONS: not an integer: %q", v)
		}
		c.MaxConnections = n
	}
	if v := getenv("TSSGATE_POLICY_POLL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("TSSGATE_POLICY_POLL: not a duration: %q", v)
		}
		c.PolicyPoll = d
	}
	if v := getenv("TSSGATE_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("TSSGATE_MAX_BODY_BYTES: not an integer: %q", v)
		}
		c.MaxBodyBytes = n
	}
	for name, dst := range map[string]*bool{"TSSGATE_DEV": &c.Dev, "TSSGATE_DEBUG": &c.Debug} {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: not a boolean: %q", name, v)
			}
			*dst = b
		}
	}
	return nil
}
