package policy

// The fact contract: every field a policy reads under tx is bound to the
// signed bytes (or the token-table entry they verified against), or it is
// plainly marked as Cobo's description. The README's fact table is that
// contract in words; these tests hold the code to it:
//
//   - TestFactTableCoversEnvironment: the table lists exactly the fields the
//     CEL environment declares, each with a known source.
//   - TestSameBytesSameFacts: every description of one genuine transaction
//     that verifies yields the same bound facts (a property test over the
//     public vectors, their spellings, and random combinations of them).
//   - FuzzSameBytesSameFacts: the same property under mutation.

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
	"tssgate/internal/txverify"
)

// Sources a README fact row can name.
const (
	sourceBound             = "bound"
	sourceBoundWhenVerified = "bound when verified"
	sourceDescribed         = "described"
)

// factTableHeading starts the README section that holds the fact table.
const factTableHeading = "### Facts under `tx`"

// readmeFactTable reads the README's fact table: field path -> source.
func readmeFactTable(t testing.TB) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatalf("reading the README: %v", err)
	}
	text := string(b)
	i := strings.Index(text, factTableHeading)
	if i < 0 {
		t.Fatalf("README has no section %q", factTableHeading)
	}
	section := text[i+len(factTableHeading):]
	if j := strings.Index(section, "\n#"); j >= 0 {
		section = section[:j]
	}
	rows := map[string]string{}
	for n, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`tx.") {
			continue
		}
		field := strings.Trim(strings.TrimSpace(cells[1]), "`")
		source := strings.TrimSpace(cells[2])
		if _, dup := rows[field]; dup {
			t.Errorf("README fact table line %d: %s listed twice", n+1, field)
		}
		rows[field] = source
	}
	if len(rows) == 0 {
		t.Fatalf("README section %q has no `tx.` rows", factTableHeading)
	}
	return rows
}

// declaredTxFields lists every field path the CEL environment lets a rule
// read under tx, walking nested objects and lists of objects.
func declaredTxFields() []string {
	var out []string
	var walk func(prefix string, o *objectType)
	walk = func(prefix string, o *objectType) {
		for _, n := range o.names {
			path := prefix + "." + n
			out = append(out, path)
			t := o.fields[n].Type
			if nested, ok := engineObjects[t.TypeName()]; ok {
				walk(path, nested)
			}
			if t.TypeName() == "list" && len(t.Parameters()) == 1 {
				if nested, ok := engineObjects[t.Parameters()[0].TypeName()]; ok {
					walk(path+"[]", nested)
				}
			}
		}
	}
	walk("tx", transactionObject)
	return out
}

func TestFactTableCoversEnvironment(t *testing.T) {
	table := readmeFactTable(t)
	declared := declaredTxFields()
	for _, f := range declared {
		src, ok := table[f]
		if !ok {
			t.Errorf("README fact table lacks %s, which the policy environment declares", f)
			continue
		}
		switch src {
		case sourceBound, sourceBoundWhenVerified, sourceDescribed:
		default:
			t.Errorf("README fact table: %s has source %q, want %q, %q or %q", f, src, sourceBound, sourceBoundWhenVerified, sourceDescribed)
		}
	}
	for f := range table {
		if !slices.Contains(declared, f) {
			t.Errorf("README fact table lists %s, which the policy environment does not declare", f)
		}
	}
}

// factVector is one public KEYSIGN vector (testdata/keysign-vectors.json).
type factVector struct {
	Name         string `json:"name"`
	TokenID      string `json:"token_id"`
	RawTx        string `json:"unsigned_raw_tx"`
	MsgHash      string `json:"msg_hash"`
	Destination  string `json:"destination"`
	TokenAccount string `json:"destination_token_account"`
	Calldata     string `json:"calldata"`
	BaseUnits    string `json:"amount_base_units"`
}

// vectorBaseUnits are the amounts of vectors whose file entry does not
// state them (the value the bytes carry, in wei).
var vectorBaseUnits = map[string]string{
	"eth_legacy_transfer": "100000000000000",
	"eth_eip1559_sepolia": "1000000000000000",
}

func loadFactVectors(t testing.TB) []factVector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "keysign-vectors.json"))
	if err != nil {
		t.Fatalf("reading vectors: %v", err)
	}
	var file struct {
		Vectors []factVector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("testdata/keysign-vectors.json: %v", err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("testdata/keysign-vectors.json has no vectors")
	}
	for i, v := range file.Vectors {
		if v.BaseUnits == "" {
			file.Vectors[i].BaseUnits = vectorBaseUnits[v.Name]
		}
		if file.Vectors[i].BaseUnits == "" {
			t.Fatalf("vector %s: amount unknown", v.Name)
		}
	}
	return file.Vectors
}

// description is one way Cobo could describe a vector's bytes. Pointer
// and nil fields are absent from the JSON.
type description struct {
	version  protocol.Version
	tokenID  string
	chainID  *string
	destType string
	address  string
	amount   string // token units (v2) or base units (v1)
	decimals int    // v1 extra_info.decimal
	calldata *string
	hashes   []string
	paths    []string
	walletID string
	source   string
}

func ptr(s string) *string { return &s }

// coinTypes are the BIP-44 coin types of each decoder's chain.
var coinTypes = map[string]string{txverify.ChainEVM: "60", txverify.ChainTRON: "195", txverify.ChainSolana: "501"}

// genuine is the description Cobo would send for v.
func genuine(t testing.TB, v factVector) (description, txverify.Token) {
	t.Helper()
	tok, ok := txverify.DefaultRegistry().Lookup(v.TokenID)
	if !ok {
		t.Fatalf("vector %s: token %s is not in the built-in table", v.Name, v.TokenID)
	}
	units, ok := new(big.Int).SetString(v.BaseUnits, 10)
	if !ok {
		t.Fatalf("vector %s: amount %q", v.Name, v.BaseUnits)
	}
	d := description{
		version:  protocol.V2,
		tokenID:  tok.TokenID,
		chainID:  ptr(tok.ChainID),
		destType: "Address",
		address:  v.Destination,
		amount:   decimal.FromBaseUnits(units, tok.Decimals).String(),
		hashes:   []string{v.MsgHash},
		paths:    []string{"m/44/" + coinTypes[tok.Chain] + "/0/0/0"},
		walletID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		source:   "source-address-as-described",
	}
	if v.Calldata != "" {
		d.destType, d.calldata = "EVM_Contract", ptr(v.Calldata)
	}
	return d, tok
}

// build turns a description of v into a decoded request, as the server
// would see it. A description the decoder refuses is an error: it never
// reaches policy.
func build(t testing.TB, v factVector, d description) (*protocol.Request, error) {
	t.Helper()
	detailRaw, extraRaw, err := protocol.Sample(d.version, protocol.TypeKeySign)
	if err != nil {
		t.Fatal(err)
	}
	var detail, extra map[string]any
	if err := json.Unmarshal(detailRaw, &detail); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(extraRaw, &extra); err != nil {
		t.Fatal(err)
	}
	setList := func(m map[string]any, key string, vals []string) {
		if vals == nil {
			delete(m, key)
			return
		}
		l := make([]any, len(vals))
		for i, s := range vals {
			l[i] = s
		}
		m[key] = l
	}
	setList(detail, "msg_hash_list", d.hashes)
	setList(detail, "bip32_path_list", d.paths)
	switch d.version {
	case protocol.V2:
		tx, ok := extra["transaction"].(map[string]any)
		if !ok {
			t.Fatal("v2 KEYSIGN sample has no transaction")
		}
		tx["token_id"] = d.tokenID
		if d.chainID == nil {
			delete(tx, "chain_id")
		} else {
			tx["chain_id"] = *d.chainID
		}
		tx["wallet_id"] = d.walletID
		if src, ok := tx["source"].(map[string]any); ok {
			src["address"] = d.source
		}
		dest := map[string]any{"destination_type": d.destType}
		switch d.destType {
		case "EVM_Contract", "TRON_Contract":
			dest["address"], dest["value"] = d.address, d.amount
		default:
			dest["account_output"] = map[string]any{"address": d.address, "amount": d.amount}
		}
		if d.calldata != nil {
			dest["calldata"] = *d.calldata
		}
		tx["destination"] = dest
		tx["raw_tx_info"] = map[string]any{"unsigned_raw_tx": v.RawTx}
		delete(tx, "fee") // the sample's fee describes the ETH sample
	case protocol.V1:
		extra["coin"] = d.tokenID
		extra["decimal"] = d.decimals
		extra["amount"] = d.amount
		extra["to_address"] = d.address
		extra["from_address"] = d.source
		details, _ := json.Marshal([]map[string]string{{"to_address": d.address, "amount": d.amount}})
		extra["to_address_details"] = string(details)
		path := ""
		if len(d.paths) > 0 {
			path = d.paths[0]
		}
		extra["raw_tx"] = []any{map[string]any{"raw_tx": v.RawTx, "derivation_path": path}}
	}
	detailJSON, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	extraJSON, err := json.Marshal(extra)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(protocol.NewCallbackRequest("req-facts", protocol.TypeKeySign, detailJSON, extraJSON))
	if err != nil {
		t.Fatal(err)
	}
	req, err := protocol.Decode(d.version, raw)
	if err != nil {
		return nil, err
	}
	req.NodeKey = "node-a"
	req.Verification = txverify.DefaultRegistry().Verify(req).Verification()
	return req, nil
}

// renderFact spells a CEL value canonically for comparison: decimals in
// their normalized form, errors by message, objects field by field.
func renderFact(v ref.Val) string {
	switch x := v.(type) {
	case types.String:
		return strconv.Quote(string(x))
	case types.Bool, types.Int:
		return fmt.Sprint(x.Value())
	case decVal:
		return "decimal(" + x.d.String() + ")"
	case *types.Err:
		return "error(" + x.String() + ")"
	case *objectVal:
		parts := make([]string, len(x.vals))
		for i, f := range x.vals {
			parts[i] = x.typ.names[i] + ":" + renderFact(f)
		}
		return "{" + strings.Join(parts, ",") + "}"
	case traits.Mapper:
		var parts []string
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			parts = append(parts, renderFact(k)+":"+renderFact(x.Get(k)))
		}
		sort.Strings(parts)
		return "map{" + strings.Join(parts, ",") + "}"
	case traits.Lister:
		var parts []string
		for it := x.Iterator(); it.HasNext() == types.True; {
			parts = append(parts, renderFact(it.Next()))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf("%T(%v)", v, v.Value())
}

// factsOf flattens the tx a policy would see into field path -> value,
// with the per-element fields of destination lists as lists of values.
func factsOf(tx ref.Val) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, o *objectVal)
	walk = func(prefix string, o *objectVal) {
		for i, name := range o.typ.names {
			path, val := prefix+"."+name, o.vals[i]
			out[path] = renderFact(val)
			switch x := val.(type) {
			case *objectVal:
				walk(path, x)
			case traits.Lister:
				per := map[string][]string{}
				for it := x.Iterator(); it.HasNext() == types.True; {
					if e, ok := it.Next().(*objectVal); ok {
						for j, sub := range e.typ.names {
							per[sub] = append(per[sub], renderFact(e.vals[j]))
						}
					}
				}
				for sub, vals := range per {
					out[path+"[]."+sub] = "[" + strings.Join(vals, ",") + "]"
				}
			}
		}
	}
	if o, ok := tx.(*objectVal); ok {
		walk("tx", o)
	} else {
		out["tx"] = renderFact(tx)
	}
	return out
}

// boundFacts keeps the facts the README says are bound (the comparison is
// between verified descriptions, so "bound when verified" counts).
func boundFacts(all, table map[string]string) map[string]string {
	out := map[string]string{}
	for path, val := range all {
		if table[path] == sourceBound || table[path] == sourceBoundWhenVerified {
			out[path] = val
		}
	}
	return out
}

// diffFacts describes how two fact sets differ; "" when equal.
func diffFacts(a, b map[string]string) string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var diffs []string
	for _, k := range sorted {
		if a[k] != b[k] {
			diffs = append(diffs, fmt.Sprintf("%s: %s vs %s", k, elide(a[k]), elide(b[k])))
		}
	}
	return strings.Join(diffs, "; ")
}

// elide shortens a long fact for a failure message, keeping both ends.
func elide(s string) string {
	if len(s) <= 100 {
		return s
	}
	return s[:60] + "..." + s[len(s)-30:]
}

// spellings are the ways each part of a description can be varied. Every
// option keeps the description honest about the bytes or makes it wrong in
// one place; which of them verify is the verifier's business, the property
// is only that those that do agree on every bound fact.
func spellings(v factVector, base description, tok txverify.Token) [][]func(*description) {
	set := func(f func(d *description)) func(*description) { return f }
	lookalike := strings.NewReplacer("E", "\u0415", "T", "\u0422", "O", "\u041e", "S", "\u0405").Replace
	coin := coinTypes[tok.Chain]
	addresses := []func(*description){
		set(func(d *description) {}),
		set(func(d *description) { d.address = strings.ToLower(d.address) }),
		set(func(d *description) { d.address = " " + d.address }),
	}
	if strings.HasPrefix(v.Destination, "0x") {
		addresses = append(addresses,
			set(func(d *description) { d.address = "0x" + strings.ToUpper(d.address[2:]) }),
			set(func(d *description) { d.address = "0X" + d.address[2:] }))
	}
	if v.TokenAccount != "" {
		addresses = append(addresses, set(func(d *description) { d.address = v.TokenAccount }))
	}
	hash := v.MsgHash
	bare := strings.TrimPrefix(hash, "0x")
	dims := [][]func(*description){
		addresses,
		{ // amount
			set(func(d *description) {}),
			set(func(d *description) {
				if strings.Contains(d.amount, ".") {
					d.amount += "00"
				} else {
					d.amount += ".000"
				}
			}),
			set(func(d *description) { d.amount = "0" + d.amount }),
		},
		{ // token_id
			set(func(d *description) {}),
			set(func(d *description) { d.tokenID = strings.ToLower(d.tokenID) }),
			set(func(d *description) { d.tokenID = d.tokenID + " " }),
			set(func(d *description) { d.tokenID = lookalike(d.tokenID) }),
		},
		{ // chain_id
			set(func(d *description) {}),
			set(func(d *description) { d.chainID = ptr(strings.ToLower(tok.ChainID)) }),
			set(func(d *description) { d.chainID = ptr("") }),
			set(func(d *description) { d.chainID = nil }),
			set(func(d *description) { d.chainID = ptr(" " + tok.ChainID) }),
			set(func(d *description) { d.chainID = ptr(lookalike(tok.ChainID)) }),
		},
		{ // msg_hash_list
			set(func(d *description) {}),
			set(func(d *description) { d.hashes = []string{bare} }),
			set(func(d *description) { d.hashes = []string{"0x" + strings.ToUpper(bare)} }),
			set(func(d *description) { d.hashes = []string{"0X" + bare} }),
			set(func(d *description) { d.hashes = []string{hash, hash} }),
			set(func(d *description) { d.hashes = []string{hash, bare} }),
		},
		{ // bip32_path_list
			set(func(d *description) {}),
			set(func(d *description) { d.paths = []string{"44/" + coin + "/0/0/0"} }),
			set(func(d *description) { d.paths = []string{"m/44'/" + coin + "'/0'/0/0"} }),
			set(func(d *description) { d.paths = nil }),
			set(func(d *description) { d.paths = []string{} }),
			set(func(d *description) { d.paths = []string{"m/44/0x" + strconv.FormatInt(mustAtoi(coin), 16) + "/0/0/0"} }),
			set(func(d *description) { d.paths = []string{d.paths[0], d.paths[0]} }),
		},
		{ // destination_type and calldata
			set(func(d *description) {}),
			set(func(d *description) {
				if d.destType == "Address" {
					d.destType, d.calldata = "EVM_Contract", ptr("")
					if tok.Chain == txverify.ChainTRON {
						d.destType = "TRON_Contract"
					}
				} else {
					d.destType, d.calldata = "Address", nil
				}
			}),
			set(func(d *description) { d.calldata = ptr(strings.ToUpper(v.Calldata)) }),
		},
		{ // described facts, which bound facts must not follow
			set(func(d *description) {}),
			set(func(d *description) { d.walletID, d.source = "another-wallet", "another-source" }),
		},
		{ // the protocol version: v1 carries base units and no chain_id
			set(func(d *description) {}),
			set(func(d *description) {
				units, ok := decimal.MustParse(strings.TrimSpace(base.amount)).BaseUnits(tok.Decimals)
				d.version, d.decimals = protocol.V1, int(tok.Decimals)
				if ok && d.amount == base.amount {
					d.amount = units.String()
				}
			}),
		},
	}
	return dims
}

func mustAtoi(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

// sameBytesCheck describes one vector many ways and requires every
// verified description to yield the genuine description's bound facts.
type sameBytesCheck struct {
	t       testing.TB
	v       factVector
	table   map[string]string
	want    map[string]string
	checked int
	failed  int
}

func newSameBytesCheck(t testing.TB, v factVector, table map[string]string) *sameBytesCheck {
	t.Helper()
	base, _ := genuine(t, v)
	req, err := build(t, v, base)
	if err != nil {
		t.Fatalf("%s: the genuine description does not decode: %v", v.Name, err)
	}
	if !req.Verification.Verified {
		t.Fatalf("%s: the genuine description does not verify: %s", v.Name, req.Verification.Reason)
	}
	return &sameBytesCheck{t: t, v: v, table: table, want: boundFacts(factsOf(txValue(req)), table)}
}

// check builds d and compares its bound facts with the genuine ones when
// it verifies. It reports whether d verified.
func (c *sameBytesCheck) check(label string, d description) bool {
	c.t.Helper()
	req, err := build(c.t, c.v, d)
	if err != nil || !req.Verification.Verified {
		return false
	}
	c.checked++
	got := boundFacts(factsOf(txValue(req)), c.table)
	if diff := diffFacts(c.want, got); diff != "" {
		c.failed++
		if c.failed > 8 {
			return true // enough to see the pattern; the count is reported
		}
		c.t.Errorf("%s: %s verifies but its bound facts differ from the genuine description's: %s", c.v.Name, label, diff)
	}
	return true
}

func TestSameBytesSameFacts(t *testing.T) {
	table := readmeFactTable(t)
	for _, v := range loadFactVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			c := newSameBytesCheck(t, v, table)
			base, tok := genuine(t, v)
			dims := spellings(v, base, tok)
			// Each spelling on its own; those that verify alone are the
			// ones worth combining.
			accepted := make([][]int, len(dims))
			for i, dim := range dims {
				for j, option := range dim {
					d := base
					option(&d)
					if c.check(fmt.Sprintf("dimension %d option %d", i, j), d) {
						accepted[i] = append(accepted[i], j)
					}
				}
				if len(accepted[i]) == 0 {
					accepted[i] = []int{0}
				}
			}
			// Random combinations, reproducibly: of accepted spellings
			// (which may still fail together), and of any.
			rng := rand.New(rand.NewPCG(1, uint64(len(v.Name))))
			for n := 0; n < 400; n++ {
				d := base
				var picks []string
				for i, dim := range dims {
					j := accepted[i][rng.IntN(len(accepted[i]))]
					if n%2 == 1 {
						j = rng.IntN(len(dim))
					}
					dim[j](&d)
					picks = append(picks, fmt.Sprintf("%d:%d", i, j))
				}
				c.check("combination "+strings.Join(picks, " "), d)
			}
			t.Logf("%d descriptions of %s verified", c.checked, v.Name)
			if c.failed > 8 {
				t.Errorf("%d verified descriptions in all differed from the genuine one", c.failed)
			}
			if c.checked < 2 {
				t.Errorf("only %d descriptions verified: the property was not exercised", c.checked)
			}
		})
	}
}

// FuzzSameBytesSameFacts mutates the description of one genuine
// transaction; whatever verifies must yield the genuine bound facts.
func FuzzSameBytesSameFacts(f *testing.F) {
	vectors := loadFactVectors(f)
	table := readmeFactTable(f)
	for i, v := range vectors {
		base, tok := genuine(f, v)
		f.Add(uint8(i), false, base.tokenID, *base.chainID, base.destType, base.address, base.amount, v.Calldata, v.MsgHash, base.paths[0])
		f.Add(uint8(i), true, strings.ToLower(tok.TokenID), "", "Address", strings.ToLower(base.address), base.amount+"0", "", strings.ToUpper(v.MsgHash), "44/"+coinTypes[tok.Chain]+"/0/0/0")
		if v.TokenAccount != "" {
			f.Add(uint8(i), false, base.tokenID, *base.chainID, base.destType, v.TokenAccount, base.amount, "", v.MsgHash, base.paths[0])
		}
	}
	checks := make([]*sameBytesCheck, len(vectors))
	f.Fuzz(func(t *testing.T, which uint8, v1 bool, tokenID, chainID, destType, address, amount, calldata, hash, path string) {
		v := vectors[int(which)%len(vectors)]
		c := checks[int(which)%len(vectors)]
		if c == nil {
			c = newSameBytesCheck(t, v, table)
			checks[int(which)%len(vectors)] = c
		}
		c.t = t
		base, tok := genuine(t, v)
		d := base
		d.tokenID, d.chainID, d.destType, d.address, d.amount = tokenID, ptr(chainID), destType, address, amount
		d.calldata, d.hashes, d.paths = ptr(calldata), []string{hash}, []string{path}
		if v1 {
			d.version, d.decimals = protocol.V1, int(tok.Decimals)
		}
		c.check(fmt.Sprintf("%+v", d), d)
	})
}
