package txverify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// The ABIs contract calls are decoded with (tx.call): ABI files named in
// the configuration, for listed contracts on one EVM chain or for every
// contract on it, and built-in ABIs of the standards (ERC-20, ERC-721,
// ERC-1155, WETH, Permit2) with OpenZeppelin's and Uniswap's parameter
// names. A contract-specific ABI wins over a chain-wide one, which wins
// over the built-ins. TRON calls are decoded with the built-ins.

// ABIEntry is one configured ABI file.
type ABIEntry struct {
	// File names the ABI in errors (the path it was read from).
	File string
	// JSON is the Solidity JSON ABI: an array of entries, of which the
	// functions are used.
	JSON []byte
	// Contracts are the EVM addresses the ABI is for; empty: every
	// contract on EVMChainID.
	Contracts []string
	// EVMChainID is the EIP-155 chain id (required).
	EVMChainID *big.Int
}

// abiSet holds configured ABIs by "chainID|contract" and by "chainID".
type abiSet struct {
	byContract map[string]map[[4]byte]abiSource
	byChain    map[string]map[[4]byte]abiSource
}

// abiSource is a function and the file that defined it.
type abiSource struct {
	fn   abiFunc
	file string
}

// jsonABIParam is a parameter in a JSON ABI.
type jsonABIParam struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Components []jsonABIParam `json:"components"`
}

func (p jsonABIParam) param(depth int) (abiParam, error) {
	if depth > maxABIDepth {
		return abiParam{}, fmt.Errorf("components nested more than %d deep", maxABIDepth)
	}
	comps := make([]abiParam, len(p.Components))
	for i, c := range p.Components {
		cp, err := c.param(depth + 1)
		if err != nil {
			return abiParam{}, err
		}
		comps[i] = cp
	}
	if len(comps) > 0 && !strings.HasPrefix(p.Type, "tuple") {
		return abiParam{}, fmt.Errorf("parameter %s of type %s has components", short(p.Name), short(p.Type))
	}
	t, err := parseABIType(p.Type, comps)
	if err != nil {
		return abiParam{}, fmt.Errorf("parameter %s: %v", short(p.Name), err)
	}
	return abiParam{name: p.Name, typ: t}, nil
}

// parseJSONABI reads the functions of a JSON ABI.
func parseJSONABI(data []byte) (map[[4]byte]abiFunc, error) {
	var entries []struct {
		Type   string         `json:"type"`
		Name   string         `json:"name"`
		Inputs []jsonABIParam `json:"inputs"`
	}
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("not a JSON ABI (an array of entries): %v", err)
	}
	out := map[[4]byte]abiFunc{}
	for i, e := range entries {
		if e.Type != "function" && e.Type != "" {
			continue
		}
		if !isIdentifier(e.Name) {
			return nil, fmt.Errorf("entry %d: function name %q is not an identifier", i, short(e.Name))
		}
		inputs := make([]abiParam, len(e.Inputs))
		for j, in := range e.Inputs {
			p, err := in.param(0)
			if err != nil {
				return nil, fmt.Errorf("function %s: %v", e.Name, err)
			}
			inputs[j] = p
		}
		f := newABIFunc(e.Name, inputs)
		if prev, dup := out[f.selector]; dup && prev.signature != f.signature {
			return nil, fmt.Errorf("functions %s and %s share selector 0x%x", prev.signature, f.signature, f.selector)
		}
		out[f.selector] = f
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("declares no functions")
	}
	return out, nil
}

// WithABIs returns a new registry holding r's tokens and ABIs plus
// entries. Errors name the file: an unreadable ABI, an invalid contract
// address, a missing chain id, or a selector two files define for the same
// contract (or chain) with different signatures or parameter names.
func (r *Registry) WithABIs(entries ...ABIEntry) (*Registry, error) {
	out := &Registry{byID: r.byID, byAsset: r.byAsset, abis: abiSet{byContract: map[string]map[[4]byte]abiSource{}, byChain: map[string]map[[4]byte]abiSource{}}}
	for k, v := range r.abis.byContract {
		out.abis.byContract[k] = v
	}
	for k, v := range r.abis.byChain {
		out.abis.byChain[k] = v
	}
	for _, e := range entries {
		if e.EVMChainID == nil || e.EVMChainID.Sign() <= 0 {
			return nil, fmt.Errorf("%s: evm_chain_id is required (a positive decimal)", e.File)
		}
		fns, err := parseJSONABI(e.JSON)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", e.File, err)
		}
		chain := e.EVMChainID.String()
		keys := []string{chain}
		target := out.abis.byChain
		if len(e.Contracts) > 0 {
			keys, target = nil, out.abis.byContract
			for _, c := range e.Contracts {
				if !isEVMAddressText(c) {
					return nil, fmt.Errorf("%s: contract %q is not 0x and 40 hex digits", e.File, short(c))
				}
				keys = append(keys, chain+"|"+strings.ToLower(c))
			}
		}
		for sel, f := range fns {
			// Grants and tx.decoded.method follow the selector: a
			// configured function sharing a built-in's selector (a
			// keccak collision, found in hours for a chosen layout)
			// under another signature would read an approve with other
			// types and no grant.
			if b, ok := builtinABI[sel]; ok && b.signature != f.signature {
				return nil, fmt.Errorf("%s: function %s has the selector 0x%x of the built-in %s; a configured ABI may not give a built-in selector another signature", e.File, f.signature, sel, b.signature)
			}
		}
		for _, k := range keys {
			merged := map[[4]byte]abiSource{}
			for sel, s := range target[k] {
				merged[sel] = s
			}
			for sel, f := range fns {
				if prev, ok := merged[sel]; ok && !sameFunc(prev.fn, f) {
					return nil, fmt.Errorf("%s: %s conflicts with %s from %s for the same contracts", e.File, describeFunc(f), describeFunc(prev.fn), prev.file)
				}
				merged[sel] = abiSource{fn: f, file: e.File}
			}
			target[k] = merged
		}
	}
	return out, nil
}

func sameFunc(a, b abiFunc) bool { return describeFunc(a) == describeFunc(b) }

// describeFunc is a function with its parameter names.
func describeFunc(f abiFunc) string {
	var b strings.Builder
	var write func(ps []abiParam)
	write = func(ps []abiParam) {
		for i, p := range ps {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(p.typ.canonical())
			b.WriteByte(' ')
			b.WriteString(p.name)
			if p.typ.kind == 't' {
				b.WriteByte('{')
				write(p.typ.comps)
				b.WriteByte('}')
			}
		}
	}
	b.WriteString(f.name + "(")
	write(f.inputs)
	b.WriteByte(')')
	return b.String()
}

// builtinABI is the built-in standard functions by selector.
var builtinABI = func() map[[4]byte]abiFunc {
	p := func(name, typ string) abiParam {
		t, err := parseABIType(typ, nil)
		if err != nil {
			panic(err)
		}
		return abiParam{name: name, typ: t}
	}
	tuple := func(name string, comps ...abiParam) abiParam {
		return abiParam{name: name, typ: &abiT{kind: 't', comps: comps}}
	}
	list := func(elem abiParam) abiParam {
		return abiParam{name: elem.name, typ: &abiT{kind: 'l', elem: elem.typ}}
	}
	fns := []abiFunc{
		// ERC-20 (OpenZeppelin); approve and transferFrom share their
		// selectors with ERC-721's approve(to, tokenId) and
		// transferFrom(from, to, tokenId).
		newABIFunc("transfer", []abiParam{p("to", "address"), p("value", "uint256")}),
		newABIFunc("approve", []abiParam{p("spender", "address"), p("value", "uint256")}),
		newABIFunc("transferFrom", []abiParam{p("from", "address"), p("to", "address"), p("value", "uint256")}),
		newABIFunc("increaseAllowance", []abiParam{p("spender", "address"), p("addedValue", "uint256")}),
		newABIFunc("decreaseAllowance", []abiParam{p("spender", "address"), p("subtractedValue", "uint256")}),
		newABIFunc("permit", []abiParam{p("owner", "address"), p("spender", "address"), p("value", "uint256"), p("deadline", "uint256"), p("v", "uint8"), p("r", "bytes32"), p("s", "bytes32")}),
		// DAI's permit.
		newABIFunc("permit", []abiParam{p("holder", "address"), p("spender", "address"), p("nonce", "uint256"), p("expiry", "uint256"), p("allowed", "bool"), p("v", "uint8"), p("r", "bytes32"), p("s", "bytes32")}),
		// ERC-721 and ERC-1155.
		newABIFunc("setApprovalForAll", []abiParam{p("operator", "address"), p("approved", "bool")}),
		newABIFunc("safeTransferFrom", []abiParam{p("from", "address"), p("to", "address"), p("tokenId", "uint256")}),
		newABIFunc("safeTransferFrom", []abiParam{p("from", "address"), p("to", "address"), p("tokenId", "uint256"), p("data", "bytes")}),
		newABIFunc("safeTransferFrom", []abiParam{p("from", "address"), p("to", "address"), p("id", "uint256"), p("value", "uint256"), p("data", "bytes")}),
		newABIFunc("safeBatchTransferFrom", []abiParam{p("from", "address"), p("to", "address"), p("ids", "uint256[]"), p("values", "uint256[]"), p("data", "bytes")}),
		// WETH.
		newABIFunc("deposit", nil),
		newABIFunc("withdraw", []abiParam{p("wad", "uint256")}),
		// Permit2 (Uniswap).
		newABIFunc("approve", []abiParam{p("token", "address"), p("spender", "address"), p("amount", "uint160"), p("expiration", "uint48")}),
		newABIFunc("permit", []abiParam{p("owner", "address"),
			tuple("permitSingle", tuple("details", p("token", "address"), p("amount", "uint160"), p("expiration", "uint48"), p("nonce", "uint48")), p("spender", "address"), p("sigDeadline", "uint256")),
			p("signature", "bytes")}),
		newABIFunc("permit", []abiParam{p("owner", "address"),
			tuple("permitBatch", list(tuple("details", p("token", "address"), p("amount", "uint160"), p("expiration", "uint48"), p("nonce", "uint48"))), p("spender", "address"), p("sigDeadline", "uint256")),
			p("signature", "bytes")}),
		newABIFunc("transferFrom", []abiParam{p("from", "address"), p("to", "address"), p("amount", "uint160"), p("token", "address")}),
	}
	out := map[[4]byte]abiFunc{}
	for _, f := range fns {
		if prev, dup := out[f.selector]; dup {
			panic("txverify: built-in ABI selector clash: " + prev.signature + " and " + f.signature)
		}
		out[f.selector] = f
	}
	return out
}()

// lookupABI finds the function for a selector on a contract.
func (r *Registry) lookupABI(evmChainID *big.Int, contract string, sel [4]byte) (abiFunc, bool) {
	if evmChainID != nil {
		chain := evmChainID.String()
		if s, ok := r.abis.byContract[chain+"|"+contract][sel]; ok {
			return s.fn, true
		}
		if s, ok := r.abis.byChain[chain][sel]; ok {
			return s.fn, true
		}
	}
	f, ok := builtinABI[sel]
	return f, ok
}

// grantSignatures are the allowance-granting functions, by canonical
// signature. Grants are derived from the selector's built-in layout and
// the positional arguments: a configured ABI may rename parameters but
// not give a built-in selector another signature (WithABIs refuses it).
const (
	sigApprove        = "approve(address,uint256)"
	sigIncrease       = "increaseAllowance(address,uint256)"
	sigPermit         = "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"
	sigDAIPermit      = "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)"
	sigApprovalForAll = "setApprovalForAll(address,bool)"
	sigPermit2Approve = "approve(address,address,uint160,uint48)"
	sigPermit2Permit  = "permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)"
	sigPermit2Batch   = "permit(address,((address,uint160,uint48,uint48)[],address,uint256),bytes)"
)

// grantsOf derives the allowance grants of a decoded call to contract
// with selector sel. erc20 says the token table knows contract as a
// fungible token: approve(address,uint256) is shared by ERC-20
// approve(spender, value) and ERC-721 approve(to, tokenId), and only
// on an ERC-20 is an amount of 0 a revoke (on ERC-721 it grants token
// #0). Elsewhere only approve(address(0), n) is a revoke: it clears
// token n's approval on ERC-721 and names no spender on ERC-20.
func grantsOf(sel [4]byte, erc20 bool, contract string, vals []any, addr func([]byte) string) []protocol.Grant {
	b, ok := builtinABI[sel]
	if !ok {
		return []protocol.Grant{}
	}
	amount := func(v any) (decimal.Decimal, bool, bool) {
		n := v.(*big.Int)
		d := decimal.New(n, 0)
		return d, d.Cmp(unlimitedFloor) >= 0, n.Sign() == 0
	}
	switch b.signature {
	case sigApprove:
		a, all, zero := amount(vals[1])
		spender := vals[0].([]byte)
		revoke := zero
		if !erc20 {
			revoke = bytes.Equal(spender, make([]byte, 20))
		}
		return []protocol.Grant{{Token: contract, Spender: addr(spender), Amount: a, All: all, Revoke: revoke}}
	case sigIncrease:
		a, all, _ := amount(vals[1])
		return []protocol.Grant{{Token: contract, Spender: addr(vals[0].([]byte)), Amount: a, All: all}}
	case sigPermit:
		a, all, zero := amount(vals[2])
		return []protocol.Grant{{Token: contract, Spender: addr(vals[1].([]byte)), Amount: a, All: all, Revoke: zero}}
	case sigDAIPermit:
		allowed := vals[4].(bool)
		return []protocol.Grant{{Token: contract, Spender: addr(vals[1].([]byte)), All: allowed, Revoke: !allowed}}
	case sigApprovalForAll:
		approved := vals[1].(bool)
		return []protocol.Grant{{Token: contract, Spender: addr(vals[0].([]byte)), All: approved, Revoke: !approved}}
	case sigPermit2Approve:
		a, all, zero := amount(vals[2])
		return []protocol.Grant{{Token: addr(vals[0].([]byte)), Spender: addr(vals[1].([]byte)), Amount: a, All: all, Revoke: zero}}
	case sigPermit2Permit:
		single := vals[1].([]any)
		details := single[0].([]any)
		a, all, zero := amount(details[1])
		return []protocol.Grant{{Token: addr(details[0].([]byte)), Spender: addr(single[1].([]byte)), Amount: a, All: all, Revoke: zero}}
	case sigPermit2Batch:
		batch := vals[1].([]any)
		spender := addr(batch[1].([]byte))
		list := batch[0].([]any)
		out := make([]protocol.Grant, 0, len(list))
		for _, e := range list {
			details := e.([]any)
			a, all, zero := amount(details[1])
			out = append(out, protocol.Grant{Token: addr(details[0].([]byte)), Spender: spender, Amount: a, All: all, Revoke: zero})
		}
		return out
	}
	return []protocol.Grant{}
}

// callFacts decodes a verified contract call's calldata and checks Cobo's
// calldata_info against it.
func (r *Registry) callFacts(c *claim, facts *Facts) (*protocol.CallFacts, *failure) {
	data, err := hex.DecodeString(facts.Data)
	if err != nil {
		return nil, fail("internal", "calldata hex: %v", err)
	}
	dec := abiDecoder{addr: evmAddr}
	var chainID *big.Int
	if facts.Chain == ChainTRON {
		dec.addr = func(b []byte) string { var a [20]byte; copy(a[:], b); return tronABIAddr(a) }
	} else {
		chainID = facts.ChainID
	}
	call := &protocol.CallFacts{Contract: facts.Contract, Grants: []protocol.Grant{}}
	if len(data) >= 4 {
		var sel [4]byte
		copy(sel[:], data[:4])
		call.Selector = "0x" + hex.EncodeToString(sel[:])
		if fn, ok := r.lookupABI(chainID, strings.ToLower(facts.Contract), sel); ok {
			args, vals, err := dec.decodeCall(fn, data[4:])
			if err != nil {
				return nil, fail("calldata", "selector %s is %s, but %v", call.Selector, fn.signature, err)
			}
			call.Method, call.Signature, call.Args = fn.name, fn.signature, args
			_, erc20 := r.byAsset[assetKey(facts.Chain, chainID, facts.Contract)]
			call.Grants = grantsOf(sel, erc20, facts.Contract, vals, dec.addr)
		}
	}
	if f := checkCalldataInfo(c.callInfo, call, facts.Chain); f != nil {
		return nil, f
	}
	return call, nil
}

// checkCalldataInfo requires Cobo's description of the call, when
// present, to agree with the decoded call.
func checkCalldataInfo(info *protocol.V2CalldataInfo, call *protocol.CallFacts, chain string) *failure {
	if info == nil {
		return nil
	}
	m := info.Method
	if m.Selector != "" {
		if got := "0x" + normHex(m.Selector); got != call.Selector {
			return fail("calldata_info", "method.selector %s is not the calldata's selector %s", short(m.Selector), orNone(call.Selector))
		}
	}
	if m.Sig != "" {
		h := keccak256([]byte(m.Sig))
		if got := "0x" + hex.EncodeToString(h[:4]); got != call.Selector {
			return fail("calldata_info", "method.sig %s has selector %s, the calldata's is %s", short(m.Sig), got, orNone(call.Selector))
		}
	}
	if m.Name != "" && call.Method != "" && m.Name != call.Method {
		return fail("calldata_info", "method.name %s, the calldata calls %s", short(m.Name), call.Signature)
	}
	// Cobo spells EVM addresses with or without 0x, in any case.
	if chain == ChainEVM && info.Address != "" && normHex(info.Address) != normHex(call.Contract) {
		return fail("calldata_info", "address %s, the transaction calls %s", short(info.Address), call.Contract)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none: under 4 bytes of calldata)"
	}
	return s
}
