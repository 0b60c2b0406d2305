package protocol

import (
	"fmt"
	"strconv"

	"tssgate/internal/decimal"
)

// Normalisation maps each typed wire payload onto the version-independent
// model. It fails only where the model would otherwise say something the
// wire did not: an integer that does not fit, or a transaction amount that
// is missing, negative or inconsistent.

// maxTokenDecimals bounds v1 extra_info.decimal. ERC-20 decimals() is a
// uint8, so no real token has more; the bound also keeps 10^decimal cheap.
const maxTokenDecimals = 255

func toInt(v Int, field string) (int, error) {
	if int64(int(v)) != int64(v) {
		return 0, fmt.Errorf("%s: %d does not fit in an int", field, int64(v))
	}
	return int(v), nil
}

func hexStrings(h []HexString) []string {
	if h == nil {
		return nil
	}
	out := make([]string, len(h))
	for i, s := range h {
		out[i] = string(s)
	}
	return out
}

func (w *V1KeyGen) fill(r *Request, _ bool) error {
	t, err := toInt(w.Detail.Threshold, "request_detail.threshold")
	if err != nil {
		return err
	}
	r.KeyGen = &KeyGen{
		Threshold:  t,
		NodeIDs:    w.Detail.NodeIDs,
		Curve:      w.Detail.Curve,
		TaskID:     w.Detail.TaskID,
		CoboID:     w.Extra.CoboID,
		RequestRef: w.Extra.APIRequestID,
	}
	return nil
}

func (w *V2KeyGen) fill(r *Request, _ bool) error {
	t, err := toInt(w.Detail.Threshold, "request_detail.threshold")
	if err != nil {
		return err
	}
	r.KeyGen = &KeyGen{
		Threshold:  t,
		NodeIDs:    w.Detail.NodeIDs,
		Curve:      w.Detail.Curve,
		TaskID:     w.Detail.TaskID,
		BizTaskID:  w.Detail.BizTaskID,
		RequestRef: w.Extra.TSSRequest.TSSRequestID,
	}
	return nil
}

func reshare(oldT, newT Int) (int, int, error) {
	o, err := toInt(oldT, "request_detail.old_threshold")
	if err != nil {
		return 0, 0, err
	}
	n, err := toInt(newT, "request_detail.new_threshold")
	return o, n, err
}

func (w *V1KeyReshare) fill(r *Request, _ bool) error {
	d := &w.Detail
	o, n, err := reshare(d.OldThreshold, d.NewThreshold)
	if err != nil {
		return err
	}
	r.KeyReshare = &KeyReshare{
		OldGroupID: d.OldGroupID, RootPubKey: d.RootPubKey, Curve: d.Curve,
		UsedNodeIDs: d.UsedNodeIDs, OldThreshold: o, NewThreshold: n, NewNodeIDs: d.NewNodeIDs,
		TaskID: d.TaskID, CoboID: w.Extra.CoboID, RequestRef: w.Extra.APIRequestID,
	}
	return nil
}

func (w *V2KeyReshare) fill(r *Request, _ bool) error {
	d := &w.Detail
	o, n, err := reshare(d.OldThreshold, d.NewThreshold)
	if err != nil {
		return err
	}
	r.KeyReshare = &KeyReshare{
		OldGroupID: d.OldGroupID, RootPubKey: d.RootPubKey, Curve: d.Curve,
		UsedNodeIDs: d.UsedNodeIDs, OldThreshold: o, NewThreshold: n, NewNodeIDs: d.NewNodeIDs,
		TaskID: d.TaskID, BizTaskID: d.BizTaskID, RequestRef: w.Extra.TSSRequest.TSSRequestID,
	}
	return nil
}

func (w *V2KeyShareSign) fill(r *Request, _ bool) error {
	k := &KeyShareSign{
		NodeID:    w.Detail.NodeID,
		TaskID:    w.Detail.TaskID,
		BizTaskID: w.Detail.BizTaskID,
		WalletID:  w.Extra.Wallet.WalletID,
	}
	for _, it := range w.Detail.Details {
		k.Items = append(k.Items, KeyShareSignItem(it))
	}
	r.KeyShareSign = k
	return nil
}

// fill maps v1 KEYSIGN. v1 extra_info is the transaction itself, so it
// describes one whenever it has content.
func (w *V1KeySign) fill(r *Request, hasExtra bool) error {
	d := &w.Detail
	k := &KeySign{
		GroupID:     d.GroupID,
		RootPubKey:  d.RootPubKey,
		UsedNodeIDs: d.UsedNodeIDs,
		BIP32Paths:  d.BIP32PathList,
		MsgHashes:   hexStrings(d.MsgHashList),
		Tweaks:      d.TweakList,
		TaskID:      d.TaskID,
	}
	if hasExtra {
		tx, err := w.Extra.transaction()
		if err != nil {
			return err
		}
		k.Tx = tx
	}
	r.KeySign = k
	return nil
}

func (w *V2KeySign) fill(r *Request, _ bool) error {
	d := &w.Detail
	st, err := toInt(d.SignatureType, "request_detail.signature_type")
	if err != nil {
		return err
	}
	tp, err := toInt(d.TSSProtocol, "request_detail.tss_protocol")
	if err != nil {
		return err
	}
	k := &KeySign{
		GroupID:       d.GroupID,
		RootPubKey:    d.RootPubKey,
		UsedNodeIDs:   d.UsedNodeIDs,
		BIP32Paths:    d.BIP32PathList,
		MsgHashes:     hexStrings(d.MsgHashList),
		Tweaks:        d.TweakList,
		SignatureType: st,
		TSSProtocol:   tp,
		TaskID:        d.TaskID,
		BizTaskID:     d.BizTaskID,
	}
	if w.Extra.Transaction != nil {
		if k.Tx, err = w.transaction(); err != nil {
			return err
		}
	}
	r.KeySign = k
	return nil
}

// v1Operations names v1 extra_info.operation values.
var v1Operations = map[Int]string{100: "TRANSFER", 200: "CONTRACT_CALL"}

// transaction maps v1 KEYSIGN extra_info to a Transaction. Amounts are
// smallest-unit integers scaled by decimal. When to_address_details is
// present it lists the outputs, and a top-level amount, if given, must equal
// their sum; otherwise to_address and amount form the single output.
func (x *V1KeySignExtra) transaction() (*Transaction, error) {
	if x.Decimal < 0 || x.Decimal > maxTokenDecimals {
		return nil, fmt.Errorf("extra_info.decimal: %d is outside 0..%d", int64(x.Decimal), maxTokenDecimals)
	}
	decimals := int32(x.Decimal)
	tx := &Transaction{
		ID:              x.CoboID,
		CoboID:          x.CoboID,
		TokenID:         x.Coin,
		DestinationType: "Address",
		Type:            v1Operations[x.Operation],
	}
	if tx.Type == "" {
		tx.Type = strconv.FormatInt(int64(x.Operation), 10)
	}
	switch {
	case x.Spender != "":
		tx.Initiator, tx.InitiatorType = x.Spender, "Web"
	case x.APIKey != "":
		tx.Initiator, tx.InitiatorType = x.APIKey, "API"
	}
	tx.SourceAddresses = appendUnique(nil, x.FromAddress)
	for _, r := range x.RawTx {
		if r.RawTx != "" {
			tx.UnsignedRawTxs = append(tx.UnsignedRawTxs, r.RawTx)
		}
	}

	if len(x.ToAddressDetails) > 0 {
		for i, o := range x.ToAddressDetails {
			field := fmt.Sprintf("extra_info.to_address_details[%d]", i)
			amt, err := baseUnits(o.Amount, decimals, field+".amount")
			if err != nil {
				return nil, err
			}
			if o.ToAddress == "" {
				return nil, fmt.Errorf("%s.to_address is empty", field)
			}
			tx.add(o.ToAddress, amt)
		}
		if x.Amount.Set {
			total, err := baseUnits(x.Amount, decimals, "extra_info.amount")
			if err != nil {
				return nil, err
			}
			if total.Cmp(tx.Amount) != 0 {
				return nil, fmt.Errorf("extra_info.amount (%s %s) disagrees with the sum of to_address_details (%s %s)", total, x.Coin, tx.Amount, x.Coin)
			}
		}
	} else if x.ToAddress != "" || x.Amount.Set {
		amt, err := baseUnits(x.Amount, decimals, "extra_info.amount")
		if err != nil {
			return nil, err
		}
		if x.ToAddress == "" {
			return nil, fmt.Errorf("extra_info.to_address is empty")
		}
		tx.add(x.ToAddress, amt)
	}
	return tx, nil
}

// baseUnits reads a v1 smallest-unit amount and converts it to token units.
func baseUnits(a Amount, decimals int32, field string) (decimal.Decimal, error) {
	if !a.Set {
		return decimal.Decimal{}, fmt.Errorf("%s is missing", field)
	}
	units, ok := a.Value.BaseUnits(0)
	if !ok {
		return decimal.Decimal{}, fmt.Errorf("%s: %s is not a whole number of base units", field, a)
	}
	if units.Sign() < 0 {
		return decimal.Decimal{}, fmt.Errorf("%s: %s is negative", field, a)
	}
	return decimal.FromBaseUnits(units, decimals), nil
}

// transaction maps a v2 KEYSIGN extra_info.transaction to a Transaction.
func (w *V2KeySign) transaction() (*Transaction, error) {
	t := w.Extra.Transaction
	tx := &Transaction{
		ID:              t.TransactionID,
		CoboID:          t.CoboID,
		ChainID:         t.ChainID,
		TokenID:         t.TokenID,
		WalletID:        t.WalletID,
		Type:            t.Type,
		Initiator:       t.Initiator,
		InitiatorType:   t.InitiatorType,
		DestinationType: t.Destination.DestinationType,
	}
	if tx.ID == "" {
		tx.ID = w.Detail.BizTaskID
	}
	if tx.WalletID == "" {
		tx.WalletID = w.Extra.Wallet.WalletID
	}
	for _, a := range w.Extra.SourceAddresses {
		tx.SourceAddresses = appendUnique(tx.SourceAddresses, a.Address)
	}
	tx.SourceAddresses = appendUnique(tx.SourceAddresses, t.Source.Address)
	if u := t.RawTxInfo.UnsignedRawTx; u != "" {
		tx.UnsignedRawTxs = []string{u}
	}
	if err := tx.addV2Destinations(&t.Destination); err != nil {
		return nil, err
	}
	return tx, nil
}

// addV2Destinations adds the destinations of the variants that move a
// counted amount. See Transaction for what the others mean.
func (tx *Transaction) addV2Destinations(d *V2TransactionDestination) error {
	const p = "extra_info.transaction.destination"
	switch d.DestinationType {
	case "Address":
		if d.AccountOutput != nil {
			if err := tx.addAmount(d.AccountOutput.Address, d.AccountOutput.Amount, p+".account_output"); err != nil {
				return err
			}
		}
		for i, o := range d.UTXOOutputs {
			if err := tx.addAmount(o.Address, o.Amount, fmt.Sprintf("%s.utxo_outputs[%d]", p, i)); err != nil {
				return err
			}
		}
		if len(tx.Destinations) == 0 {
			return fmt.Errorf("%s: an Address destination has neither account_output nor utxo_outputs", p)
		}
	case "CustodialWallet", "ExchangeWallet":
		if d.WalletID == "" {
			return fmt.Errorf("%s.wallet_id is empty", p)
		}
		amt, err := requireAmount(d.Amount, p+".amount")
		if err != nil {
			return err
		}
		tx.add("", amt)
	case "EVM_Contract", "TRON_Contract":
		// value is optional: a call that sends no native coin omits it.
		if d.Value.Set && d.Value.Value.Sign() < 0 {
			return fmt.Errorf("%s.value: %s is negative", p, d.Value)
		}
		if d.Address == "" {
			return fmt.Errorf("%s.address is empty", p)
		}
		tx.add(d.Address, d.Value.Value)
	}
	return nil
}

// addAmount adds one address output whose address must be set and whose
// amount must be present and non-negative; field names the output.
func (tx *Transaction) addAmount(addr string, a Amount, field string) error {
	amt, err := requireAmount(a, field+".amount")
	if err != nil {
		return err
	}
	if addr == "" {
		return fmt.Errorf("%s.address is empty", field)
	}
	tx.add(addr, amt)
	return nil
}

func requireAmount(a Amount, field string) (decimal.Decimal, error) {
	switch {
	case !a.Set:
		return decimal.Decimal{}, fmt.Errorf("%s is missing", field)
	case a.Value.Sign() < 0:
		return decimal.Decimal{}, fmt.Errorf("%s: %s is negative", field, a)
	}
	return a.Value, nil
}

func (tx *Transaction) add(addr string, amt decimal.Decimal) {
	tx.Destinations = append(tx.Destinations, Destination{Address: addr, Amount: amt})
	tx.Amount = tx.Amount.Add(amt)
}

func appendUnique(list []string, s string) []string {
	if s == "" {
		return list
	}
	for _, have := range list {
		if have == s {
			return list
		}
	}
	return append(list, s)
}
