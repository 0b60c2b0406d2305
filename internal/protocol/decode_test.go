package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	nodeCobo   = "cobo8SuYXG4m3Fzq7uV9nK2pWdLhTrEcA5bJ6yQxN1oHi"
	nodeServer = "coo2Uj7dKcR9hT3mZqW5eLxYvN8bP4sA6gF1nVyXrHtQ"
	nodePhone  = "coo5Gh2pXk7rV9mW3nQ8tL4yZcB6dJ1sE5aF9uRxNwTm"
	nodeNew    = "coo9Tb4wQn6sL2xZ8rV3mK7pY5cH1dF9gJ4eA6uWzXqN"
	groupID    = "5bWjYyFnW6kYvZ2Vx4hBq9dK3mTcR8uPzLsE1aN7oQfJ"
	rootXpub   = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8"
	walletID   = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	sourceAddr = "0x8c2E3e9a1cF0b36b8e6F4f8B2c7d9A1e5f3b4C6D"
)

func TestDecodeSamples(t *testing.T) {
	tests := []struct {
		name  string
		v     Version
		typ   RequestType
		check func(t *testing.T, r *Request)
	}{
		{"v1 keygen", V1, TypeKeyGen, func(t *testing.T, r *Request) {
			k := r.KeyGen
			equal(t, "Threshold", k.Threshold, 2)
			equalStrings(t, "NodeIDs", k.NodeIDs, []string{nodeCobo, nodeServer, nodePhone})
			equal(t, "Curve", k.Curve, CurveSECP256K1)
			equal(t, "TaskID", k.TaskID, "20240416093012000127654321098765")
			equal(t, "CoboID", k.CoboID, "20240416093011000127654321098764")
			equal(t, "RequestRef", k.RequestRef, "keygen-main-group-0001")
			equal(t, "BizTaskID", k.BizTaskID, "")
			w := r.Wire.(*V1KeyGen)
			equal(t, "Wire.Extra.APIRequestID", w.Extra.APIRequestID, "keygen-main-group-0001")
		}},
		{"v1 keysign", V1, TypeKeySign, func(t *testing.T, r *Request) {
			k := r.KeySign
			equal(t, "GroupID", k.GroupID, groupID)
			equal(t, "RootPubKey", k.RootPubKey, rootXpub)
			equalStrings(t, "UsedNodeIDs", k.UsedNodeIDs, []string{nodeCobo, nodeServer})
			equalStrings(t, "BIP32Paths", k.BIP32Paths, []string{"m/44/60/0/0/0"})
			equalStrings(t, "MsgHashes", k.MsgHashes, []string{ethMsgHash})
			equal(t, "SignatureType", k.SignatureType, 0)
			equal(t, "TaskID", k.TaskID, "20240417101530000198765432109876")
			tx := k.Tx
			if tx == nil {
				t.Fatal("Tx is nil")
			}
			equal(t, "Tx.ID", tx.ID, "20240417101529000198765432109875")
			equal(t, "Tx.CoboID", tx.CoboID, "20240417101529000198765432109875")
			equal(t, "Tx.ChainID", tx.ChainID, "")
			equal(t, "Tx.TokenID", tx.TokenID, "ETH")
			equal(t, "Tx.Amount", tx.Amount.String(), "0.0001")
			equal(t, "len(Destinations)", len(tx.Destinations), 1)
			equal(t, "Destinations[0].Address", tx.Destinations[0].Address, ethDestination)
			equal(t, "Destinations[0].Amount", tx.Destinations[0].Amount.String(), "0.0001")
			equalStrings(t, "SourceAddresses", tx.SourceAddresses, []string{sourceAddr})
			equal(t, "Type", tx.Type, "TRANSFER")
			equal(t, "InitiatorType", tx.InitiatorType, "API")
			equal(t, "Initiator", tx.Initiator, "0397ee7a3c6bd08c2a6ef8ef9da0c9b26e6b1d7c5e2fa3b4c8d9e0f1a2b3c4d5e6")
			equalStrings(t, "UnsignedRawTxs", tx.UnsignedRawTxs, []string{ethRawTx})
			equal(t, "DestinationType", tx.DestinationType, "Address")
			equal(t, "WalletID", tx.WalletID, "")
			w := r.Wire.(*V1KeySign)
			equal(t, "Wire GasPrice", w.Extra.GasPrice.String(), "805234319")
			equal(t, "Wire GasLimit", w.Extra.GasLimit.String(), "21000")
			equal(t, "Wire TransactionType", w.Extra.TransactionType, 102)
			equal(t, "Wire Decimal", w.Extra.Decimal, 18)
			equal(t, "Wire len(ToAddressDetails)", len(w.Extra.ToAddressDetails), 1)
			equal(t, "Wire RawTx path", w.Extra.RawTx[0].DerivationPath, "m/44/60/0/0/0")
			equal(t, "Extra map coin", r.Extra["coin"], any("ETH"))
			equal(t, "Extra map decimal", r.Extra["decimal"], any(json.Number("18")))
		}},
		{"v1 keyreshare", V1, TypeKeyReshare, func(t *testing.T, r *Request) {
			k := r.KeyReshare
			equal(t, "OldGroupID", k.OldGroupID, groupID)
			equal(t, "RootPubKey", k.RootPubKey, rootXpub)
			equal(t, "Curve", k.Curve, CurveSECP256K1)
			equalStrings(t, "UsedNodeIDs", k.UsedNodeIDs, []string{nodeCobo, nodeServer})
			equal(t, "OldThreshold", k.OldThreshold, 2)
			equal(t, "NewThreshold", k.NewThreshold, 2)
			equalStrings(t, "NewNodeIDs", k.NewNodeIDs, []string{nodeCobo, nodeServer, nodeNew})
			equal(t, "CoboID", k.CoboID, "20240418140511000176543210987653")
			equal(t, "RequestRef", k.RequestRef, "reshare-replace-phone-0001")
		}},
		{"v1 keysharesign uses v2 shapes", V1, TypeKeyShareSign, func(t *testing.T, r *Request) {
			k := r.KeyShareSign
			equal(t, "NodeID", k.NodeID, nodeServer)
			equal(t, "BizTaskID", k.BizTaskID, "20240419081459000154321098765431")
			equal(t, "WalletID", k.WalletID, walletID)
			equal(t, "len(Items)", len(k.Items), 1)
			equal(t, "Items[0].GroupID", k.Items[0].GroupID, groupID)
			w := r.Wire.(*V2KeyShareSign)
			equal(t, "Wire group threshold", w.Extra.ValidityKeyShareHolderGroups[0].Threshold, 2)
		}},
		{"v2 keygen", V2, TypeKeyGen, func(t *testing.T, r *Request) {
			k := r.KeyGen
			equal(t, "Threshold", k.Threshold, 2)
			equalStrings(t, "NodeIDs", k.NodeIDs, []string{nodeCobo, nodeServer, nodePhone})
			equal(t, "Curve", k.Curve, CurveSECP256K1)
			equal(t, "TaskID", k.TaskID, "6e2f9a0b-1c3d-4e5f-a7b8-c9d0e1f2a3b4")
			equal(t, "BizTaskID", k.BizTaskID, "3a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d")
			equal(t, "RequestRef", k.RequestRef, "3a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d")
			equal(t, "CoboID", k.CoboID, "")
			w := r.Wire.(*V2KeyGen)
			equal(t, "Wire org", w.Extra.Org.OrgID, "e3986401-4ec6-4a2c-9a0c-5f0f5e0c9a11")
			equal(t, "Wire holders", len(w.Extra.TargetKeyShareHolderGroup.KeyShareHolders), 3)
			equal(t, "Wire tss_request type", w.Extra.TSSRequest.Type, "KeyGen")
		}},
		{"v2 keysign", V2, TypeKeySign, func(t *testing.T, r *Request) {
			k := r.KeySign
			equal(t, "GroupID", k.GroupID, groupID)
			equalStrings(t, "UsedNodeIDs", k.UsedNodeIDs, []string{nodeCobo, nodeServer})
			equalStrings(t, "BIP32Paths", k.BIP32Paths, []string{"m/44/60/0/0/0"})
			equalStrings(t, "MsgHashes", k.MsgHashes, []string{ethMsgHash})
			equal(t, "Tweaks", len(k.Tweaks), 0)
			equal(t, "SignatureType", k.SignatureType, 1)
			equal(t, "TSSProtocol", k.TSSProtocol, 1)
			equal(t, "BizTaskID", k.BizTaskID, "7f3c2a91-5d4e-4b8a-a6c2-1e9f0d3b8c57")
			tx := k.Tx
			if tx == nil {
				t.Fatal("Tx is nil")
			}
			equal(t, "Tx.ID", tx.ID, "7f3c2a91-5d4e-4b8a-a6c2-1e9f0d3b8c57")
			equal(t, "Tx.CoboID", tx.CoboID, "20250615103045000114123456789012")
			equal(t, "Tx.ChainID", tx.ChainID, "ETH")
			equal(t, "Tx.TokenID", tx.TokenID, "ETH")
			equal(t, "Tx.Amount", tx.Amount.String(), "0.0001")
			equal(t, "len(Destinations)", len(tx.Destinations), 1)
			equal(t, "Destinations[0].Address", tx.Destinations[0].Address, ethDestination)
			equal(t, "Destinations[0].Amount", tx.Destinations[0].Amount.String(), "0.0001")
			equalStrings(t, "SourceAddresses", tx.SourceAddresses, []string{sourceAddr})
			equal(t, "WalletID", tx.WalletID, walletID)
			equal(t, "Type", tx.Type, "Withdrawal")
			equal(t, "Initiator", tx.Initiator, "payouts-service")
			equal(t, "InitiatorType", tx.InitiatorType, "API")
			equalStrings(t, "UnsignedRawTxs", tx.UnsignedRawTxs, []string{ethRawTx})
			equal(t, "DestinationType", tx.DestinationType, "Address")
			w := r.Wire.(*V2KeySign)
			wt := w.Extra.Transaction
			equal(t, "Wire fee type", wt.Fee.FeeType, "EVM_Legacy")
			equal(t, "Wire gas price", wt.Fee.GasPrice.String(), "805234319")
			equal(t, "Wire estimated fee", wt.Fee.EstimatedFeeUsed.String(), "0.000016909920699")
			equal(t, "Wire fee_used unset", wt.Fee.FeeUsed.Set, false)
			equal(t, "Wire confirming threshold", wt.ConfirmingThreshold, 12)
			equal(t, "Wire created", wt.CreatedTimestamp, 1749983445000)
			equal(t, "Wire wallet subtype", w.Extra.Wallet.WalletSubtype, "Org-Controlled")
			equal(t, "Wire signer holders", len(w.Extra.SignerKeyShareHolderGroup.KeyShareHolders), 3)
			equal(t, "Wire source address encoding", w.Extra.SourceAddresses[0].Encoding, "ENCODING_DEFAULT")
			equal(t, "Detail map signature_type", r.Detail["signature_type"], any(json.Number("1")))
		}},
		{"v2 keyreshare", V2, TypeKeyReshare, func(t *testing.T, r *Request) {
			k := r.KeyReshare
			equal(t, "OldGroupID", k.OldGroupID, groupID)
			equalStrings(t, "NewNodeIDs", k.NewNodeIDs, []string{nodeCobo, nodeServer, nodeNew})
			equalStrings(t, "UsedNodeIDs", k.UsedNodeIDs, []string{nodeCobo, nodeServer})
			equal(t, "OldThreshold", k.OldThreshold, 2)
			equal(t, "NewThreshold", k.NewThreshold, 2)
			equal(t, "BizTaskID", k.BizTaskID, "4c3b2a19-0f8e-4d7c-8b6a-5f4e3d2c1b0a")
			equal(t, "RequestRef", k.RequestRef, "4c3b2a19-0f8e-4d7c-8b6a-5f4e3d2c1b0a")
			w := r.Wire.(*V2KeyReshare)
			equal(t, "Wire tss_request type", w.Extra.TSSRequest.Type, "KeyGenFromKeyGroup")
			equalStrings(t, "Wire source tss_node_ids", w.Extra.TSSRequest.SourceKeyShareHolderGroup.TSSNodeIDs, []string{nodeCobo, nodeServer})
		}},
		{"v2 keysharesign", V2, TypeKeyShareSign, func(t *testing.T, r *Request) {
			k := r.KeyShareSign
			equal(t, "NodeID", k.NodeID, nodeServer)
			equal(t, "TaskID", k.TaskID, "1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b")
			equal(t, "BizTaskID", k.BizTaskID, "6d5c4b3a-2918-4f7e-8d6c-5b4a39281706")
			equal(t, "WalletID", k.WalletID, walletID)
			equal(t, "len(Items)", len(k.Items), 1)
			equal(t, "Items[0]", k.Items[0], KeyShareSignItem{GroupID: groupID, Message: "0x5d8a0c3b9e7f4a216b0c8d3e5f7a9b1c2d4e6f8091a3b5c7d9e1f3a5b7c9d1e3"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := samplePackage(t, tt.v, tt.typ, "req-"+tt.name)
			r := decodeOK(t, tt.v, data)
			equal(t, "Version", r.Version, tt.v)
			equal(t, "Type", r.Type, tt.typ)
			equal(t, "ID", r.ID, "req-"+tt.name)
			if r.Extra == nil {
				t.Error("Extra is nil")
			}
			tt.check(t, r)
		})
	}
}

func TestDecodeLenientFixtures(t *testing.T) {
	t.Run("v2 keysign", func(t *testing.T) {
		r := decodeOK(t, V2, readTestdata(t, "v2-keysign-lenient.json"))
		equal(t, "Type", r.Type, TypeKeySign)
		equal(t, "Detail from object", r.Detail["task_id"], any("t-lenient"))
		k := r.KeySign
		equalStrings(t, "MsgHashes kept verbatim", k.MsgHashes, []string{"1ACF0342F77D22389A9CF6524A2AF14DC420928D2942EFE0DC0764BE2EA5321B"})
		equal(t, "SignatureType", k.SignatureType, 1)
		equal(t, "TSSProtocol", k.TSSProtocol, 3)
		tx := k.Tx
		equal(t, "Tx.ID falls back to biz_task_id", tx.ID, "biz-lenient")
		equal(t, "Tx.WalletID falls back to wallet", tx.WalletID, "w-extra")
		equal(t, "Tx.Type unknown enum kept", tx.Type, "BrandNewType")
		equal(t, "Tx.Amount", tx.Amount.String(), "0.75")
		equal(t, "len(Destinations)", len(tx.Destinations), 2)
		equal(t, "Destinations[1]", tx.Destinations[1].Address+" "+tx.Destinations[1].Amount.String(), "bc1qsecond 0.25")
		equalStrings(t, "SourceAddresses", tx.SourceAddresses, []string{"bc1qsource"})
		equal(t, "UnsignedRawTxs", len(tx.UnsignedRawTxs), 0)
		w := r.Wire.(*V2KeySign)
		equal(t, "wallet type kept", w.Extra.Wallet.WalletType, "QuantumVault")
		equal(t, "status kept", w.Extra.Transaction.Status, "SomeFutureStatus")
		equal(t, "confirmed_num from string", w.Extra.Transaction.ConfirmedNum, 3)
		equal(t, "created from string", w.Extra.Transaction.CreatedTimestamp, 1749983445000)
		equal(t, "used_nonce from string", w.Extra.Transaction.RawTxInfo.UsedNonce, 7)
		equal(t, "vout_n from string", w.Extra.Transaction.RawTxInfo.SelectedUTXOs[0].VoutN, 1)
		equal(t, "fee rate", w.Extra.Transaction.Fee.FeeRate.String(), "12.5")
	})
	t.Run("v1 keysign", func(t *testing.T) {
		r := decodeOK(t, V1, readTestdata(t, "v1-keysign-lenient.json"))
		k := r.KeySign
		equalStrings(t, "MsgHashes", k.MsgHashes, []string{"0Xabcdef"})
		tx := k.Tx
		equal(t, "Tx.Amount (decimal as string)", tx.Amount.String(), "1.5")
		equal(t, "len(Destinations)", len(tx.Destinations), 2)
		equal(t, "Destinations[0]", tx.Destinations[0].Address+" "+tx.Destinations[0].Amount.String(), "bc1qa 1")
		equal(t, "Destinations[1]", tx.Destinations[1].Address+" "+tx.Destinations[1].Amount.String(), "bc1qb 0.5")
		equal(t, "Type from operation string", tx.Type, "CONTRACT_CALL")
		equal(t, "Initiator prefers spender", tx.Initiator, "ops@example.com")
		equal(t, "InitiatorType", tx.InitiatorType, "Web")
		equalStrings(t, "UnsignedRawTxs drops empty", tx.UnsignedRawTxs, []string{"0x0102"})
		w := r.Wire.(*V1KeySign)
		equal(t, "fee as decimal number", w.Extra.Fee.String(), "12.5")
		equal(t, "huge gas price exact", w.Extra.GasPrice.String(), "1000000000000000000000000")
		equal(t, "extra_parameters vout", w.Extra.ExtraParameters.InputsToSpend[0].VoutN, 2)
		equal(t, "extra_parameters tx hash", w.Extra.ExtraParameters.InputsToSpend[0].TxHash, "aa")
	})
}

func TestDecodeLenientCases(t *testing.T) {
	tests := []struct {
		name  string
		v     Version
		data  func(t *testing.T) []byte
		check func(t *testing.T, r *Request)
	}{
		{"curve as name", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeyGen, func(d, x map[string]any) { d["curve"] = "ed25519" })
		}, func(t *testing.T, r *Request) { equal(t, "Curve", r.KeyGen.Curve, CurveED25519) }},
		{"curve and threshold as digit strings", V1, func(t *testing.T) []byte {
			return mutated(t, V1, TypeKeyGen, func(d, x map[string]any) { d["curve"] = "2"; d["threshold"] = "3" })
		}, func(t *testing.T, r *Request) {
			equal(t, "Curve", r.KeyGen.Curve, CurveED25519)
			equal(t, "Threshold", r.KeyGen.Threshold, 3)
		}},
		{"unknown curve kept", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeyReshare, func(d, x map[string]any) { d["curve"] = 7 })
		}, func(t *testing.T, r *Request) { equal(t, "Curve", r.KeyReshare.Curve.String(), "UNKNOWN(7)") }},
		{"null fields read as zero", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeySign, func(d, x map[string]any) {
				d["task_id"], d["signature_type"], d["tweak_list"] = nil, nil, nil
			})
		}, func(t *testing.T, r *Request) {
			equal(t, "TaskID", r.KeySign.TaskID, "")
			equal(t, "SignatureType", r.KeySign.SignatureType, 0)
		}},
		{"keysign without extra_info", V2, func(t *testing.T) []byte {
			d, _, _ := Sample(V2, TypeKeySign)
			return packageData(t, "r", TypeKeySign, d, nil)
		}, func(t *testing.T, r *Request) {
			if r.KeySign.Tx != nil || r.Extra != nil {
				t.Error("Tx or Extra set without extra_info")
			}
		}},
		{"v1 keysign without extra_info", V1, func(t *testing.T) []byte {
			d, _, _ := Sample(V1, TypeKeySign)
			return packageData(t, "r", TypeKeySign, d, []byte("{}"))
		}, func(t *testing.T, r *Request) {
			if r.KeySign.Tx != nil {
				t.Error("Tx set for empty extra_info")
			}
		}},
		{"extra without transaction", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeySign, func(d, x map[string]any) { delete(x, "transaction") })
		}, func(t *testing.T, r *Request) {
			if r.KeySign.Tx != nil {
				t.Error("Tx set without a transaction")
			}
		}},
		{"EVM contract call without value", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeySign, func(d, x map[string]any) {
				path(x, "transaction")["destination"] = map[string]any{
					"destination_type": "EVM_Contract", "address": "0xdac17f958d2ee523a2206206994597c13d831ec7", "calldata": "0xa9059cbb",
				}
			})
		}, func(t *testing.T, r *Request) {
			tx := r.KeySign.Tx
			equal(t, "DestinationType", tx.DestinationType, "EVM_Contract")
			equal(t, "Amount", tx.Amount.String(), "0")
			equal(t, "Destination", tx.Destinations[0].Address, "0xdac17f958d2ee523a2206206994597c13d831ec7")
		}},
		{"TRON contract call with value", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeySign, func(d, x map[string]any) {
				path(x, "transaction")["destination"] = map[string]any{
					"destination_type": "TRON_Contract", "address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "value": "1.25", "calldata": "a9059cbb",
				}
			})
		}, func(t *testing.T, r *Request) { equal(t, "Amount", r.KeySign.Tx.Amount.String(), "1.25") }},
		{"custodial wallet destination", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeySign, func(d, x map[string]any) {
				path(x, "transaction")["destination"] = map[string]any{
					"destination_type": "CustodialWallet", "wallet_id": "w-dest", "amount": "2.5",
				}
			})
		}, func(t *testing.T, r *Request) {
			tx := r.KeySign.Tx
			equal(t, "Amount", tx.Amount.String(), "2.5")
			equal(t, "Destination address", tx.Destinations[0].Address, "")
			equal(t, "Wire wallet", r.Wire.(*V2KeySign).Extra.Transaction.Destination.WalletID, "w-dest")
		}},
		{"message signing has no destinations", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeySign, func(d, x map[string]any) {
				path(x, "transaction")["destination"] = map[string]any{
					"destination_type": "EVM_EIP_191_Signature", "message": "aGVsbG8=",
				}
			})
		}, func(t *testing.T, r *Request) {
			tx := r.KeySign.Tx
			equal(t, "Amount", tx.Amount.String(), "0")
			equal(t, "len(Destinations)", len(tx.Destinations), 0)
			equal(t, "Wire message", r.Wire.(*V2KeySign).Extra.Transaction.Destination.Message, "aGVsbG8=")
		}},
		{"source address deduplicated and merged", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeySign, func(d, x map[string]any) {
				x["source_addresses"] = []any{map[string]any{"address": "a1"}, map[string]any{"address": "a2"}, map[string]any{"address": "a1"}}
				path(x, "transaction", "source")["address"] = "a3"
			})
		}, func(t *testing.T, r *Request) {
			equalStrings(t, "SourceAddresses", r.KeySign.Tx.SourceAddresses, []string{"a1", "a2", "a3"})
		}},
		{"amount as JSON number", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeySign, func(d, x map[string]any) {
				path(x, "transaction", "destination", "account_output")["amount"] = json.Number("0.00010")
			})
		}, func(t *testing.T, r *Request) { equal(t, "Amount", r.KeySign.Tx.Amount.String(), "0.0001") }},
		{"v1 single output without details", V1, func(t *testing.T) []byte {
			return mutated(t, V1, TypeKeySign, func(d, x map[string]any) {
				delete(x, "to_address_details")
				x["amount"] = "1"
				x["decimal"] = 6
				x["operation"] = 300
				x["api_key"] = ""
			})
		}, func(t *testing.T, r *Request) {
			tx := r.KeySign.Tx
			equal(t, "Amount", tx.Amount.String(), "0.000001")
			equal(t, "Destination", tx.Destinations[0].Address, ethDestination)
			equal(t, "Type", tx.Type, "300")
			equal(t, "InitiatorType", tx.InitiatorType, "")
		}},
		{"v1 to_address_details as array and extra_parameters as object", V1, func(t *testing.T) []byte {
			return mutated(t, V1, TypeKeySign, func(d, x map[string]any) {
				x["to_address_details"] = []any{map[string]any{"to_address": ethDestination, "amount": json.Number("100000000000000")}}
				x["extra_parameters"] = map[string]any{"inputs_to_exclude": []any{map[string]any{"tx_hash": "bb", "vout_n": 1}}}
			})
		}, func(t *testing.T, r *Request) {
			equal(t, "Amount", r.KeySign.Tx.Amount.String(), "0.0001")
			equal(t, "excluded", r.Wire.(*V1KeySign).Extra.ExtraParameters.InputsToExclude[0].TxHash, "bb")
		}},
		{"request_type as digit string", V2, func(t *testing.T) []byte {
			return []byte(`{"request_id":"r","request_type":"1","request_detail":"{\"threshold\":2,\"node_ids\":[\"a\",\"b\"]}"}`)
		}, func(t *testing.T, r *Request) {
			equal(t, "Type", r.Type, TypeKeyGen)
			equal(t, "Threshold", r.KeyGen.Threshold, 2)
		}},
		{"meta key ignored", V2, func(t *testing.T) []byte {
			return []byte(`{"request_id":"r","request_type":1,"meta":"{}","request_detail":"{\"threshold\":1}"}`)
		}, func(t *testing.T, r *Request) { equal(t, "Threshold", r.KeyGen.Threshold, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, decodeOK(t, tt.v, tt.data(t)))
		})
	}
}

func TestDecodePing(t *testing.T) {
	tests := []struct {
		name, data, id string
	}{
		{"empty object", `{}`, ""},
		{"only request_id", `{"request_id":"p1"}`, "p1"},
		{"all keys zero", `{"request_id":"p1","request_type":0,"request_detail":"","extra_info":""}`, "p1"},
		{"nulls", `{"request_id":null,"request_type":null,"request_detail":null,"extra_info":null}`, ""},
		{"empty object strings", `{"request_id":"p1","request_detail":"{}","extra_info":"{ }"}`, "p1"},
		{"empty objects", `{"request_id":"p1","request_type":0,"request_detail":{},"extra_info":{}}`, "p1"},
		{"type as string", `{"request_id":"p1","request_type":"0"}`, "p1"},
		{"whitespace around", " \n{\"request_id\":\"p1\"}\n", "p1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range []Version{V1, V2} {
				r := decodeOK(t, v, []byte(tt.data))
				equal(t, "Type", r.Type, TypePing)
				equal(t, "ID", r.ID, tt.id)
			}
		})
	}
}

func TestDecodeSeedExample(t *testing.T) {
	data := readTestdata(t, "seed-v1-package-data.json")
	const want = `{"request_id":"test_request_id","request_type":1,"request_detail":"test_task_detail","extra_info":"{\"cobo\": \"{}\", \"customer\": \"{\\\"key\\\":\\\"val\\\"}\"}"}`
	if string(data) != want {
		t.Fatalf("fixture differs from PROTOCOL.md 4.6:\n%s", data)
	}
	for _, v := range []Version{V1, V2} {
		wantDecodeError(t, v, data, "test_request_id", "request_detail is not JSON")
	}
}

func TestDecodeStrict(t *testing.T) {
	ks := func(edit func(d, x map[string]any)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return mutated(t, V2, TypeKeySign, edit) }
	}
	ks1 := func(edit func(d, x map[string]any)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return mutated(t, V1, TypeKeySign, edit) }
	}
	raw := func(s string) func(t *testing.T) []byte { return func(*testing.T) []byte { return []byte(s) } }
	output := func(x map[string]any) map[string]any {
		return path(x, "transaction", "destination", "account_output")
	}
	tests := []struct {
		name   string
		v      Version
		data   func(t *testing.T) []byte
		id     string // expected DecodeError.RequestID
		reason string // expected substring of Reason
	}{
		{"empty input", V2, raw(""), "", "package_data is empty"},
		{"whitespace input", V2, raw(" \n\t"), "", "package_data is empty"},
		{"not JSON", V2, raw(`request_id=1`), "", "package_data is not JSON"},
		{"truncated JSON", V2, raw(`{"request_id":"r"`), "", "package_data is not JSON"},
		{"trailing data", V2, raw(`{"request_id":"r"} {}`), "", "package_data is not JSON"},
		{"array at top level", V2, raw(`[{"request_id":"r"}]`), "", "package_data is not a JSON object"},
		{"null at top level", V2, raw(`null`), "", "package_data is not a JSON object"},
		{"string at top level", V2, raw(`"{}"`), "", "package_data is not a JSON object"},
		{"duplicate request_id", V2, raw(`{"request_id":"a","request_id":"b","request_type":0}`), "", "duplicate key"},
		// A structurally unacceptable package_data is refused before any field is
		// trusted, so not even request_id is echoed.
		{"duplicate key differing in case", V2, raw(`{"request_id":"a","request_type":1,"request_detail":{"threshold":1,"THRESHOLD":9}}`), "", "duplicate key"},
		{"duplicate key inside detail string", V2, raw(`{"request_id":"a","request_type":1,"request_detail":"{\"threshold\":1,\"Threshold\":9}"}`), "a", "request_detail is not JSON: duplicate key"},
		{"deep nesting", V2, raw(`{"request_id":"a","x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`), "", "nested deeper"},
		{"unsupported version", "v3", raw(`{}`), "", "unsupported protocol version"},
		{"request_id number", V2, raw(`{"request_id":5,"request_type":2,"request_detail":"{}"}`), "", "request_id must be a JSON string"},
		{"request_id object", V2, raw(`{"request_id":{"id":"x"},"request_type":0}`), "", "request_id must be a JSON string"},
		{"request_type name", V2, raw(`{"request_id":"r","request_type":"KEYSIGN"}`), "r", `request_type must be an integer, got "KEYSIGN"`},
		{"request_type fraction", V2, raw(`{"request_id":"r","request_type":1.5}`), "r", "request_type must be an integer"},
		{"request_type exponent", V2, raw(`{"request_id":"r","request_type":2e0}`), "r", "request_type must be an integer"},
		{"request_type bool", V2, raw(`{"request_id":"r","request_type":true}`), "r", "request_type must be an integer, got a boolean"},
		{"request_type 4", V2, raw(`{"request_id":"r","request_type":4,"request_detail":"{\"a\":1}"}`), "r", "unknown request_type 4"},
		{"request_type 99", V1, raw(`{"request_id":"r","request_type":99}`), "r", "unknown request_type 99"},
		{"request_type negative", V2, raw(`{"request_id":"r","request_type":-1}`), "r", "unknown request_type -1"},
		{"request_type huge", V2, raw(`{"request_id":"r","request_type":99999999999999999999}`), "r", "unknown request_type 99999999999999999999"},
		{"missing request_id on KEYSIGN", V2, func(t *testing.T) []byte { return samplePackage(t, V2, TypeKeySign, "") }, "", "request_id is required for KEYSIGN"},
		{"null request_id on KEYGEN", V1, raw(`{"request_id":null,"request_type":1,"request_detail":"{\"threshold\":1}"}`), "", "request_id is required for KEYGEN"},
		{"PING without type but with detail", V2, raw(`{"request_id":"p","request_detail":"{\"threshold\":2}"}`), "p", "PING"},
		{"PING explicit type with extra", V2, raw(`{"request_id":"p","request_type":0,"extra_info":{"org":{}}}`), "p", "PING"},
		{"KEYSIGN without detail", V2, raw(`{"request_id":"r","request_type":2,"request_detail":"","extra_info":"{\"a\":1}"}`), "r", "request_detail is empty for KEYSIGN"},
		{"detail a JSON array", V2, raw(`{"request_id":"r","request_type":2,"request_detail":"[1,2]"}`), "r", "request_detail is not a JSON object"},
		{"detail a JSON string in a string", V2, raw(`{"request_id":"r","request_type":2,"request_detail":"\"x\""}`), "r", "request_detail is not a JSON object"},
		{"detail a number", V2, raw(`{"request_id":"r","request_type":2,"request_detail":5}`), "r", "request_detail must be a string holding a JSON object, got a number"},
		{"detail an array", V2, raw(`{"request_id":"r","request_type":2,"request_detail":[]}`), "r", "request_detail must be a string holding a JSON object, got an array"},
		{"extra not JSON", V2, raw(`{"request_id":"r","request_type":1,"request_detail":"{\"threshold\":1}","extra_info":"nope"}`), "r", "extra_info is not JSON"},
		{"msg_hash_list number", V2, ks(func(d, x map[string]any) { d["msg_hash_list"] = []any{1} }), "req-1", "request_detail.msg_hash_list: got number 1"},
		{"msg_hash_list non-hex", V2, ks(func(d, x map[string]any) { d["msg_hash_list"] = []any{"0xzz"} }), "req-1", "request_detail.msg_hash_list: got string \"0xzz\""},
		{"msg_hash_list odd length", V1, ks1(func(d, x map[string]any) { d["msg_hash_list"] = []any{"0xabc"} }), "req-1", "request_detail.msg_hash_list"},
		{"msg_hash_list prefix only", V2, ks(func(d, x map[string]any) { d["msg_hash_list"] = []any{"0x"} }), "req-1", "request_detail.msg_hash_list"},
		{"msg_hash_list empty string", V2, ks(func(d, x map[string]any) { d["msg_hash_list"] = []any{ethMsgHash, ""} }), "req-1", "request_detail.msg_hash_list"},
		{"msg_hash_list null entry", V2, ks(func(d, x map[string]any) { d["msg_hash_list"] = []any{nil} }), "req-1", "request_detail.msg_hash_list: got null"},
		{"msg_hash_list not an array", V2, ks(func(d, x map[string]any) { d["msg_hash_list"] = ethMsgHash }), "req-1", "request_detail.msg_hash_list: got string, want an array"},
		{"node_ids number", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeyGen, func(d, x map[string]any) { d["node_ids"] = []any{"a", 7} })
		}, "req-1", "request_detail.node_ids: got number, want a string"},
		{"used_node_ids not an array", V2, ks(func(d, x map[string]any) { d["used_node_ids"] = "a,b" }), "req-1", "request_detail.used_node_ids"},
		{"group_id number", V2, ks(func(d, x map[string]any) { d["group_id"] = 12 }), "req-1", "request_detail.group_id: got number, want a string"},
		{"transaction_id number", V2, ks(func(d, x map[string]any) { path(x, "transaction")["transaction_id"] = 42 }), "req-1", "extra_info.transaction.transaction_id"},
		{"wallet_id number", V2, ks(func(d, x map[string]any) { path(x, "wallet")["wallet_id"] = 42 }), "req-1", "extra_info.wallet.wallet_id"},
		{"address number", V2, ks(func(d, x map[string]any) { output(x)["address"] = 42 }), "req-1", "extra_info.transaction.destination.account_output.address"},
		{"amount abc", V2, ks(func(d, x map[string]any) { output(x)["amount"] = "abc" }), "req-1", `extra_info.transaction.destination.account_output.amount: got string "abc", want a decimal amount`},
		{"amount exponent string", V2, ks(func(d, x map[string]any) { output(x)["amount"] = "1e3" }), "req-1", "extra_info.transaction.destination.account_output.amount"},
		{"amount exponent number", V2, ks(func(d, x map[string]any) { output(x)["amount"] = json.Number("1e3") }), "req-1", "account_output.amount: got number 1e3"},
		{"amount missing", V2, ks(func(d, x map[string]any) { delete(output(x), "amount") }), "req-1", "account_output.amount is missing"},
		{"amount empty", V2, ks(func(d, x map[string]any) { output(x)["amount"] = "" }), "req-1", "account_output.amount is missing"},
		{"amount negative", V2, ks(func(d, x map[string]any) { output(x)["amount"] = "-0.0001" }), "req-1", "account_output.amount: -0.0001 is negative"},
		{"destination address empty", V2, ks(func(d, x map[string]any) { output(x)["address"] = "" }), "req-1", "account_output.address is empty"},
		{"Address destination without outputs", V2, ks(func(d, x map[string]any) { delete(path(x, "transaction", "destination"), "account_output") }), "req-1", "neither account_output nor utxo_outputs"},
		{"utxo output amount missing", V2, ks(func(d, x map[string]any) {
			path(x, "transaction", "destination")["utxo_outputs"] = []any{map[string]any{"address": "bc1q"}}
		}), "req-1", "utxo_outputs[0].amount is missing"},
		{"wallet destination without amount", V2, ks(func(d, x map[string]any) {
			path(x, "transaction")["destination"] = map[string]any{"destination_type": "ExchangeWallet", "wallet_id": "w"}
		}), "req-1", "destination.amount is missing"},
		{"contract value negative", V2, ks(func(d, x map[string]any) {
			path(x, "transaction")["destination"] = map[string]any{"destination_type": "EVM_Contract", "address": "0x1", "value": "-1"}
		}), "req-1", "destination.value: -1 is negative"},
		{"fee amount not a number", V2, ks(func(d, x map[string]any) { path(x, "transaction", "fee")["gas_price"] = "fast" }), "req-1", "extra_info.transaction.fee.gas_price"},
		{"bool field as string", V2, ks(func(d, x map[string]any) { path(x, "transaction")["is_loop"] = "yes" }), "req-1", "extra_info.transaction.is_loop: got string, want a boolean"},
		{"signature_type fraction", V2, ks(func(d, x map[string]any) { d["signature_type"] = 1.5 }), "req-1", "request_detail.signature_type: got number 1.5, want an integer"},
		{"threshold not digits", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeyGen, func(d, x map[string]any) { d["threshold"] = "two" })
		}, "req-1", `request_detail.threshold: got string "two", want an integer`},
		{"threshold bool", V1, func(t *testing.T) []byte {
			return mutated(t, V1, TypeKeyGen, func(d, x map[string]any) { d["threshold"] = true })
		}, "req-1", "request_detail.threshold: got boolean"},
		{"threshold overflow", V1, func(t *testing.T) []byte {
			return mutated(t, V1, TypeKeyGen, func(d, x map[string]any) { d["threshold"] = json.Number("9223372036854775808") })
		}, "req-1", "request_detail.threshold"},
		{"curve unknown name", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeyGen, func(d, x map[string]any) { d["curve"] = "SECP384R1" })
		}, "req-1", "request_detail.curve"},
		{"keysharesign details not array", V2, func(t *testing.T) []byte {
			return mutated(t, V2, TypeKeyShareSign, func(d, x map[string]any) { d["details"] = "g:m" })
		}, "req-1", "request_detail.details"},
		{"v1 amount abc", V1, ks1(func(d, x map[string]any) { delete(x, "to_address_details"); x["amount"] = "abc" }), "req-1", "extra_info.amount"},
		{"v1 amount fractional", V1, ks1(func(d, x map[string]any) { delete(x, "to_address_details"); x["amount"] = "1.5" }), "req-1", "extra_info.amount: 1.5 is not a whole number of base units"},
		{"v1 amount negative", V1, ks1(func(d, x map[string]any) { delete(x, "to_address_details"); x["amount"] = "-5" }), "req-1", "extra_info.amount: -5 is negative"},
		{"v1 amount without address", V1, ks1(func(d, x map[string]any) { delete(x, "to_address_details"); delete(x, "to_address") }), "req-1", "extra_info.to_address is empty"},
		{"v1 amount disagrees with details", V1, ks1(func(d, x map[string]any) { x["amount"] = "100000000000001" }), "req-1", "disagrees with the sum of to_address_details"},
		{"v1 details not JSON", V1, ks1(func(d, x map[string]any) { x["to_address_details"] = "nope" }), "req-1", "extra_info.to_address_details: got string holding invalid JSON"},
		{"v1 details an object", V1, ks1(func(d, x map[string]any) { x["to_address_details"] = `{"to_address":"a"}` }), "req-1", "extra_info.to_address_details: got string holding object"},
		{"v1 details amount bad", V1, ks1(func(d, x map[string]any) {
			x["to_address_details"] = `[{"to_address":"a","amount":"x1"}]`
		}), "req-1", "extra_info.to_address_details"},
		{"v1 details amount missing", V1, ks1(func(d, x map[string]any) {
			x["to_address_details"] = `[{"to_address":"a"}]`
		}), "req-1", "extra_info.to_address_details[0].amount is missing"},
		{"v1 extra_parameters not JSON", V1, ks1(func(d, x map[string]any) { x["extra_parameters"] = "{bad" }), "req-1", "extra_info.extra_parameters"},
		{"v1 extra_parameters number", V1, ks1(func(d, x map[string]any) { x["extra_parameters"] = 3 }), "req-1", "extra_info.extra_parameters: got number 3"},
		{"v1 decimal out of range", V1, ks1(func(d, x map[string]any) { x["decimal"] = 1000 }), "req-1", "extra_info.decimal: 1000 is outside"},
		{"v1 raw_tx not array", V1, ks1(func(d, x map[string]any) { x["raw_tx"] = ethRawTx }), "req-1", "extra_info.raw_tx"},
		{"v1 cobo_id number", V1, ks1(func(d, x map[string]any) { x["cobo_id"] = 12345 }), "req-1", "extra_info.cobo_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantDecodeError(t, tt.v, tt.data(t), tt.id, tt.reason)
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range []Version{V1, V2} {
		for _, typ := range []RequestType{TypeKeyGen, TypeKeySign, TypeKeyReshare, TypeKeyShareSign} {
			f.Add(samplePackage(f, v, typ, "fuzz-"+typ.String()), v == V2)
		}
	}
	for _, name := range []string{"seed-v1-package-data.json", "v1-keysign-lenient.json", "v2-keysign-lenient.json"} {
		data := readTestdata(f, name)
		f.Add(data, true)
		f.Add(data, false)
	}
	f.Add([]byte(`{"request_id":"p1","request_type":0,"request_detail":"","extra_info":""}`), true)
	f.Add([]byte(`{}`), false)
	f.Fuzz(func(t *testing.T, data []byte, v2 bool) {
		v := V1
		if v2 {
			v = V2
		}
		r, err := Decode(v, data)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error %T is not a *DecodeError: %v", err, err)
			}
			if r != nil {
				t.Fatal("request returned with an error")
			}
			return
		}
		if err := checkConsistent(r, data); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkDecodeV2KeySign(b *testing.B) {
	data := samplePackage(b, V2, TypeKeySign, "bench-1")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(V2, data); err != nil {
			b.Fatal(err)
		}
	}
}
