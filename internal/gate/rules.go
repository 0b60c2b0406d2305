package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	"tssgate/internal/protocol"
	"tssgate/internal/text"
)

// maxTxIDBytes bounds the transaction id kept verbatim in a txKey; the
// ledger indexes it, and PostgreSQL refuses B-tree entries over about 2.7 KB.
const maxTxIDBytes = 128

// txKey is the identity under which a KEYSIGN counts against velocity
// limits: Cobo's transaction id bound to what will actually be signed (the
// normalized, sorted msg_hash_list). Retries and the several TSS Nodes of
// one group ask with the same id and the same hashes, so they count once;
// a description that reuses a transaction id for other bytes (another
// amount, another nonce) is a new transaction and counts again. The id
// alone comes from the unverified description and must not be trusted to
// skip a limit.
//
// An id the store could not hold or index (NUL, control characters, over
// maxTxIDBytes) is replaced by its SHA-256, "sha256:<hex>": still one key
// per id, and the decision stays recordable.
func txKey(req *protocol.Request) string {
	if req.KeySign == nil || req.KeySign.Tx == nil {
		return ""
	}
	hashes := make([]string, len(req.KeySign.MsgHashes))
	for i, h := range req.KeySign.MsgHashes {
		hashes[i] = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X"))
	}
	slices.Sort(hashes)
	sum := sha256.Sum256([]byte(strings.Join(hashes, ",")))
	id := req.KeySign.Tx.ID
	if text.Clean(id, maxTxIDBytes) != id {
		idSum := sha256.Sum256([]byte(id))
		id = "sha256:" + hex.EncodeToString(idSum[:])
	}
	return id + ":" + hex.EncodeToString(sum[:16])
}

// canonicalRequest is the content a request_id stands for: version, type,
// the TSS Node key that signed it, and the parsed request_detail and
// extra_info, with object keys sorted and numbers kept as sent, so that a
// retry of the same request hashes the same however its JSON was spaced.
// The node key is part of it: a decision recorded for one node is not
// replayed to another (a node_key rule must not be bypassed by reusing a
// request_id).
//
// The bytes are exactly json.Marshal's encoding of that object (recorded
// request hashes depend on them), written by appendCanonical straight from
// the tree the decoder built instead of through reflection.
func canonicalRequest(req *protocol.Request) ([]byte, error) {
	// package_data, its embedded JSON still escaped, is a little longer than
	// the canonical form: room enough that the buffer never grows.
	return appendCanonical(make([]byte, 0, len(req.Raw)+256), map[string]any{
		"version":        string(req.Version),
		"request_id":     req.ID,
		"request_type":   req.Type.String(),
		"node_key":       req.NodeKey,
		"request_detail": req.Detail,
		"extra_info":     req.Extra,
	})
}

// appendCanonical appends json.Marshal(v) to buf for the values a decoded
// request's generic tree holds (map[string]any, []any, string,
// json.Number, bool, nil), byte for byte: object keys sorted, no spaces,
// and strings of printable ASCII that json.Marshal writes verbatim copied
// as they are. Every other string (one needing an escape, HTML-escaped
// characters, non-ASCII), an empty json.Number and any other type is
// encoded by json.Marshal itself, so the rare cases cannot drift from it.
func appendCanonical(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		if x {
			return append(buf, "true"...), nil
		}
		return append(buf, "false"...), nil
	case string:
		return appendCanonicalString(buf, x)
	case json.Number:
		if x == "" || !validNumber(string(x)) {
			return appendMarshal(buf, x)
		}
		return append(buf, x...), nil
	case map[string]any:
		if x == nil {
			return append(buf, "null"...), nil
		}
		// Members are collected with their values and sorted once, so no
		// key is hashed again to find its value; most objects fit the
		// stack array.
		var small [16]member
		members := small[:0]
		for k, v := range x {
			members = append(members, member{k, v})
		}
		slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
		buf = append(buf, '{')
		var err error
		for i, m := range members {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, err = appendCanonicalString(buf, m.key); err != nil {
				return nil, err
			}
			buf = append(buf, ':')
			if buf, err = appendCanonical(buf, m.value); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case []any:
		if x == nil {
			return append(buf, "null"...), nil
		}
		buf = append(buf, '[')
		var err error
		for i, el := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, err = appendCanonical(buf, el); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	}
	return appendMarshal(buf, v)
}

// member is one object member of the tree, for sorting.
type member struct {
	key   string
	value any
}

// verbatim marks the bytes json.Marshal writes as themselves inside a
// string: printable ASCII except the quote, the backslash and the
// HTML-escaped <, > and &.
var verbatim = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendCanonicalString appends s as json.Marshal quotes it.
func appendCanonicalString(buf []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if !verbatim[s[i]] {
			return appendMarshal(buf, s)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"'), nil
}

func appendMarshal(buf []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}

// validNumber reports whether s is a JSON number (RFC 8259), the check
// json.Marshal makes before writing a json.Number verbatim.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i - j
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
