package txverify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"tssgate/internal/protocol"
)

// coboRecord is one real Cobo signet record of testdata/utxo-vectors.json.
type coboRecord struct {
	Name    string         `json:"name"`
	Record  map[string]any `json:"record"`
	Keysign struct {
		Unsigned   string   `json:"unsigned_raw_tx"`
		PSBTBase64 string   `json:"unsigned_psbt_base64"`
		Hashes     []string `json:"msg_hash_list"`
	} `json:"keysign"`
	Expected struct {
		Verdict string `json:"verdict"`
	} `json:"expected"`
}

func loadCoboRecords(t testing.TB) []coboRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "utxo-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Records []coboRecord `json:"cobo_records"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Records) != 2 {
		t.Fatalf("want 2 Cobo records, got %d", len(f.Records))
	}
	return f.Records
}

// coboKeySign wraps a record as the v2 KEYSIGN Cobo would send before
// signing (the recipe in the vector file's conventions): the record as
// extra_info.transaction, unsigned_raw_tx set, raw_tx emptied.
func coboKeySign(t testing.TB, r coboRecord, raw string) *protocol.Request {
	t.Helper()
	detail, extra, err := protocol.Sample(protocol.V2, protocol.TypeKeySign)
	if err != nil {
		t.Fatal(err)
	}
	var dm, xm map[string]any
	mustUnmarshal(t, detail, &dm)
	mustUnmarshal(t, extra, &xm)
	var tx map[string]any
	mustUnmarshal(t, mustMarshal(t, r.Record), &tx) // a deep copy
	info := tx["raw_tx_info"].(map[string]any)
	info["unsigned_raw_tx"], info["raw_tx"] = raw, ""
	xm["transaction"] = tx
	hashes, paths := []any{}, []any{}
	for i, h := range r.Keysign.Hashes {
		hashes = append(hashes, h)
		paths = append(paths, "m/44/1/0/0/"+string(rune('0'+i)))
	}
	dm["msg_hash_list"], dm["bip32_path_list"], dm["signature_type"] = hashes, paths, 3
	dm["biz_task_id"] = r.Record["transaction_id"]
	return decodeRequest(t, protocol.V2, dm, xm)
}

// TestCoboSignetRecords: the key-path stake record verifies (raw and as a
// PSBT) with the bound facts of its bytes; the script-path unstake record
// is unverified, naming the script-path spend.
func TestCoboSignetRecords(t *testing.T) {
	recs := loadCoboRecords(t)
	stake, unstake := recs[0], recs[1]
	for _, raw := range []string{stake.Keysign.Unsigned, "0x" + stake.Keysign.Unsigned, stake.Keysign.PSBTBase64} {
		res := DefaultRegistry().Verify(coboKeySign(t, stake, raw))
		wantVerified(t, res)
		f := res.Facts
		if res.TokenID != "SIGNET_BTC" || f.TxType != "segwit" || len(f.Inputs) != 1 || f.Inputs[0].ScriptType != "p2tr" ||
			f.Inputs[0].Outpoint != "61854acb7df29f17afc3c4d76b59ff9efdcac529d164142774167f8379d649e5:0" || !f.Inputs[0].AmountSigned {
			t.Fatalf("facts %+v", f)
		}
		v := res.Verification()
		if len(v.Destinations) != 0 || !v.FeeKnown || v.Fee.String() != "0.0000145" || !v.Outputs[0].Change || !v.RBF { // sequence 0 signals replace-by-fee
			t.Fatalf("verification %+v", v)
		}
	}
	res := DefaultRegistry().Verify(coboKeySign(t, unstake, unstake.Keysign.Unsigned))
	wantFailure(t, res, "selected_utxos", "script-path", "not in the request")
	if res.Unsupported {
		t.Fatal("unstake reported unsupported")
	}
	// Without revealed_script the wallet address would be taken for the
	// spent output; its digest is not the one Cobo asks to sign.
	rec := unstake
	var cp map[string]any
	mustUnmarshal(t, mustMarshal(t, rec.Record), &cp)
	cp["raw_tx_info"].(map[string]any)["selected_utxos"].([]any)[0].(map[string]any)["revealed_script"] = nil
	rec.Record = cp
	wantFailure(t, DefaultRegistry().Verify(coboKeySign(t, rec, rec.Keysign.Unsigned)), "msg_hash_list")
}
