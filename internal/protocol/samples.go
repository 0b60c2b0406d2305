package protocol

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
)

// samples holds one realistic request_detail and extra_info per version and
// request type, built from PROTOCOL.md. They are the simulator's built-in
// requests and this package's test fixtures, so they are complete (org,
// project, vault, wallet, groups, holders). The KEYSIGN samples describe an
// ETH withdrawal of 0.0001 ETH to 0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f
// whose unsigned bytes and hash are the ETH legacy vector of PROTOCOL.md 8.3.
//
//go:embed samples/v1/*.json samples/v2/*.json
var samples embed.FS

// Sample returns the built-in request_detail and extra_info JSON for
// version v and request type t; the caller owns the returned slices. PING
// has no payload and returns nil, nil, nil. An unknown version or type is
// an error.
func Sample(v Version, t RequestType) (detail, extra []byte, err error) {
	if v != V1 && v != V2 {
		return nil, nil, fmt.Errorf("protocol: no samples for version %q", v)
	}
	if t == TypePing {
		return nil, nil, nil
	}
	if !t.Known() {
		return nil, nil, fmt.Errorf("protocol: no sample for request type %s", t)
	}
	base := "samples/" + string(v) + "/" + strings.ToLower(t.String())
	if detail, err = samples.ReadFile(base + ".detail.json"); err != nil {
		return nil, nil, fmt.Errorf("protocol: reading sample: %w", err)
	}
	if extra, err = samples.ReadFile(base + ".extra.json"); err != nil {
		return nil, nil, fmt.Errorf("protocol: reading sample: %w", err)
	}
	return detail, extra, nil
}

// NewCallbackRequest builds the CallbackRequest a TSS Node would send for
// detail and extra, which are JSON texts (such as Sample's). They are
// compacted, as the node sends them, and empty or whitespace-only input
// becomes "". Input that is not valid JSON is kept verbatim, so that a test
// or the simulator can send malformed payloads on purpose.
func NewCallbackRequest(id string, t RequestType, detail, extra []byte) CallbackRequest {
	return CallbackRequest{
		RequestID:     id,
		RequestType:   t,
		RequestDetail: compactJSON(detail),
		ExtraInfo:     compactJSON(extra),
	}
}

func compactJSON(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}
