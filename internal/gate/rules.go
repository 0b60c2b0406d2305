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
func canonicalRequest(req *protocol.Request) ([]byte, error) {
	return json.Marshal(map[string]any{
		"version":        string(req.Version),
		"request_id":     req.ID,
		"request_type":   req.Type.String(),
		"node_key":       req.NodeKey,
		"request_detail": req.Detail,
		"extra_info":     req.Extra,
	})
}
