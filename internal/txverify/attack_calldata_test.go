package txverify

import (
	"encoding/hex"
	"math/big"
	"testing"
)

// selectorOf is the 4-byte selector of a Solidity signature, hex.
func selectorOf(sig string) string {
	h := keccak256([]byte(sig))
	return hex.EncodeToString(h[:4])
}

// Attack: the token-method check is a denylist of 12 selectors. A call to
// a contract IN the token table with any other selector verifies under the
// native token_id as a 0-value "contract_call", although many real token
// contracts move the caller's tokens or grant allowances through other
// functions:
//   - DAI (MCD Dai.sol): push(usr, wad) and move(src, dst, wad) are
//     transferFrom(msg.sender, usr, wad) / transferFrom(src, dst, wad);
//   - OpenZeppelin 1.x StandardToken (and tokens built on it, e.g. the
//     TRON USDT contract's StandardTokenWithFees, as its published source
//     reads; confirm on Tronscan): increaseApproval(spender, added);
//   - ERC-677 (LINK): transferAndCall(to, value, data); likewise ERC-1363
//     transferAndCall/approveAndCall and ERC-777 send on tokens that have them.
//
// Such a transaction moves the table token while limits count it as 0 ETH
// or 0 TRX and the token's own rules (keyed on its token_id) never see it:
// exactly the README's "A token in the token table moves only under its
// own token_id" claim. Secure behaviour: a call to a contract in the token
// table is verifiable only as one of the methods tssgate understands under
// that token's own token_id (an allowlist), never as a native contract call.
func TestAttackTableTokenMovedByUnlistedSelector(t *testing.T) {
	const (
		dai  = "0x6b175474e89094c44da98b954eedeac495271d0f"
		link = "0x514910771af9ca656af840dff83e8264ecf986ca"
	)
	reg, err := DefaultRegistry().With(
		Token{TokenID: "ETH_DAI", Chain: ChainEVM, ChainID: "ETH", Contract: dai, Decimals: 18, EVMChainID: big.NewInt(1)},
		Token{TokenID: "ETH_LINK", Chain: ChainEVM, ChainID: "ETH", Contract: link, Decimals: 18, EVMChainID: big.NewInt(1)},
	)
	if err != nil {
		t.Fatal(err)
	}
	million := bigInt(t, "1000000000000000000000000") // 1,000,000 tokens at 18 decimals
	evmCases := []struct {
		name     string
		contract string
		data     []byte
	}{
		{"DAI push(address,uint256) moves the caller's DAI", dai, abiEncode(selectorOf("push(address,uint256)"), addr(bob), million)},
		{"DAI move(address,address,uint256) moves the caller's DAI", dai, abiEncode(selectorOf("move(address,address,uint256)"), addr(alice), addr(bob), million)},
		{"LINK transferAndCall(address,uint256,bytes)", link, abiEncode(selectorOf("transferAndCall(address,uint256,bytes)"), addr(bob), million, abiTestBytes{})},
	}
	for _, tt := range evmCases {
		t.Run("EVM/"+tt.name, func(t *testing.T) {
			s := evmSpec{typ: 2, chainID: 1, nonce: 3, gas: 100000, tip: big.NewInt(gwei), fee: big.NewInt(40 * gwei), to: tt.contract, data: tt.data}
			d := desc{tokenID: "ETH", chainID: "ETH", destType: "EVM_Contract", address: tt.contract, amount: "0",
				calldata: "0x" + hex.EncodeToString(tt.data), rawTx: s.hexTx(), msgHashes: []string{s.hash()}}
			res := reg.Verify(v2Request(t, d))
			if res.Verified {
				v := res.Verification()
				t.Fatalf("verified under ETH as method %q (selector %s), tx.amount 0 ETH to %s, token_id %q: a table token moved under the native token_id",
					res.Facts.Method, res.Facts.Selector, v.Destinations[0].Address, v.Token)
			}
		})
	}

	toABI := func(s string) []byte { return tronAddrBytes(t, s)[1:] }
	tronCases := []struct {
		name string
		data []byte
	}{
		{"TRON_USDT increaseApproval(address,uint256)", erc20(selectorOf("increaseApproval(address,uint256)"), toABI(tronTo), maxUint256.Bytes())},
	}
	for _, tt := range tronCases {
		t.Run("TRON/"+tt.name, func(t *testing.T) {
			raw := tronTrigger(t, tronUSDT, 0, tt.data)
			d := tronDesc(raw, desc{tokenID: "TRON", destType: "TRON_Contract", address: tronUSDT, amount: "0", calldata: hex.EncodeToString(tt.data)})
			res := DefaultRegistry().Verify(v2Request(t, d))
			if res.Verified {
				t.Fatalf("verified under TRON as method %q (selector %s) on the TRON_USDT contract", res.Facts.Method, res.Facts.Selector)
			}
		})
	}
}

// Confirmation (claim holds): the listed disguises stay refused.
func TestAttackListedTokenMethodsConfirm(t *testing.T) {
	million := bigInt(t, "1000000000000")
	transfer := abiEncode(hexTransfer, addr(bob), million)
	cases := []struct {
		name string
		data []byte
	}{
		{"transfer + 1 byte", append(append([]byte{}, transfer...), 0)},
		{"transfer + 32 bytes", append(append([]byte{}, transfer...), make([]byte, 32)...)},
		{"transfer dirty padding", edit(transfer, func(b []byte) []byte { b[4] = 0xff; return b })},
		{"increaseAllowance(max)", abiEncode(hexIncreaseAllowance, addr(router), maxUint256)},
		{"approve + 1 byte", append(abiEncode(hexApprove, addr(router), maxUint256), 0)},
		{"transfer with amount word carrying address-like padding", abiEncode(hexTransfer, append(make([]byte, 11), append([]byte{1}, addr(bob)...)...), million)},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			s := evmSpec{typ: 0, chainID: 1, nonce: 1, gas: 60000, gasPrice: big.NewInt(gwei), to: usdt, data: tt.data}
			d := desc{tokenID: "ETH", destType: "EVM_Contract", address: usdt, amount: "0", calldata: "0x" + hex.EncodeToString(tt.data), rawTx: s.hexTx(), msgHashes: []string{s.hash()}}
			if res := DefaultRegistry().Verify(v2Request(t, d)); res.Verified {
				t.Fatalf("verified as %s", res.Facts.Method)
			}
		})
	}
}
