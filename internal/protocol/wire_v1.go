package protocol

import (
	"encoding/json"
	"reflect"
)

// Typed v1 (WaaS 1.0) request_detail and extra_info, one struct per
// (request type, part), keys as in PROTOCOL.md 4.1. Unknown keys are
// ignored. v1 defines no KEYSHARESIGN; Decode reads a v1 type 5 with the v2
// shapes (V2KeyShareSign), the only documented ones.

// V1KeyGen is the typed v1 KEYGEN payload.
type V1KeyGen struct {
	Detail V1KeyGenDetail
	Extra  V1KeyGenExtra
}

// V1KeyGenDetail is the v1 KEYGEN request_detail.
type V1KeyGenDetail struct {
	Threshold Int      `json:"threshold"`
	NodeIDs   []string `json:"node_ids"`
	Curve     Curve    `json:"curve"`
	TaskID    string   `json:"task_id"`
}

// V1KeyGenExtra is the v1 KEYGEN extra_info.
type V1KeyGenExtra struct {
	CoboID       string `json:"cobo_id"`
	APIRequestID string `json:"api_request_id"`
}

// V1KeySign is the typed v1 KEYSIGN payload.
type V1KeySign struct {
	Detail V1KeySignDetail
	Extra  V1KeySignExtra
}

// V1KeySignDetail is the v1 KEYSIGN request_detail.
type V1KeySignDetail struct {
	GroupID       string      `json:"group_id"`
	RootPubKey    string      `json:"root_pub_key"`
	UsedNodeIDs   []string    `json:"used_node_ids"`
	BIP32PathList []string    `json:"bip32_path_list"`
	MsgHashList   []HexString `json:"msg_hash_list"`
	TweakList     []string    `json:"tweak_list"`
	TaskID        string      `json:"task_id"`
}

// V1KeySignExtra is the v1 KEYSIGN extra_info: a flat description of the
// transaction. Amount is an integer in the coin's smallest unit, and Decimal
// says how many of its digits are fractional. Fee, GasPrice and GasLimit are
// documented as int but their range and units are uncertain, so they are
// Amounts: an integer, a string or a decimal number all decode exactly.
type V1KeySignExtra struct {
	CoboID           string             `json:"cobo_id"`
	APIRequestID     string             `json:"api_request_id"`
	TransactionType  Int                `json:"transaction_type"` // 100 FROM_WEB, 102 FROM_API, 103-106 RBF speed-up/drop
	Operation        Int                `json:"operation"`        // 100 TRANSFER, 200 CONTRACT_CALL
	Coin             string             `json:"coin"`
	Decimal          Int                `json:"decimal"`
	FromAddress      string             `json:"from_address"`
	Amount           Amount             `json:"amount"`
	ToAddress        string             `json:"to_address"`
	ToAddressDetails V1ToAddressDetails `json:"to_address_details"`
	Fee              Amount             `json:"fee"`
	GasPrice         Amount             `json:"gas_price"`
	GasLimit         Amount             `json:"gas_limit"`
	ExtraParameters  V1ExtraParameters  `json:"extra_parameters"`
	ReplaceCoboID    string             `json:"replace_cobo_id"`
	APIKey           string             `json:"api_key"`
	Spender          string             `json:"spender"`
	RawTx            []V1RawTx          `json:"raw_tx"`
	Note             string             `json:"note"`
}

// V1RawTx is one entry of the v1 KEYSIGN raw_tx array.
type V1RawTx struct {
	RawTx          string `json:"raw_tx"`
	DerivationPath string `json:"derivation_path"`
}

// V1ToAddressDetail is one output of a v1 multi-output (UTXO) transfer.
// Amount is in the smallest unit, like V1KeySignExtra.Amount.
type V1ToAddressDetail struct {
	ToAddress string `json:"to_address"`
	Amount    Amount `json:"amount"`
}

// V1ToAddressDetails is v1 to_address_details. On the wire it is a string
// holding serialized JSON ("[{\"to_address\":...}]"); a JSON array sent
// directly is accepted too. Absent, null, "" and "null" mean no details. A
// string that does not hold such an array is rejected.
type V1ToAddressDetails []V1ToAddressDetail

// UnmarshalJSON implements json.Unmarshaler with the rules on
// V1ToAddressDetails.
func (d *V1ToAddressDetails) UnmarshalJSON(b []byte) error {
	inner, ok := embeddedJSON(b, '[')
	if !ok {
		return typeError(b, reflect.TypeFor[V1ToAddressDetails]())
	}
	var list []V1ToAddressDetail
	if inner != nil {
		if err := json.Unmarshal(inner, &list); err != nil {
			return &json.UnmarshalTypeError{Value: "string holding " + innerValue(err), Type: reflect.TypeFor[V1ToAddressDetails]()}
		}
	}
	*d = list
	return nil
}

// MarshalJSON writes the wire form: a string holding the JSON array, or ""
// when there are no details.
func (d V1ToAddressDetails) MarshalJSON() ([]byte, error) {
	if len(d) == 0 {
		return []byte(`""`), nil
	}
	return marshalEmbedded([]V1ToAddressDetail(d))
}

// V1ExtraParameters is v1 extra_parameters: UTXO selection. On the wire it
// is a string holding serialized JSON; a JSON object sent directly is
// accepted too, and absent, null, "" or "null" mean none. Keys were
// camelCase before 2022-12 and are not read.
type V1ExtraParameters struct {
	InputsToSpend   []V1UTXORef `json:"inputs_to_spend"`
	InputsToExclude []V1UTXORef `json:"inputs_to_exclude"`
}

// V1UTXORef names one transaction output.
type V1UTXORef struct {
	TxHash string `json:"tx_hash"`
	VoutN  Int    `json:"vout_n"`
}

// v1ExtraParameters has V1ExtraParameters' fields without its methods, so
// that encoding/json does not recurse into them.
type v1ExtraParameters V1ExtraParameters

// UnmarshalJSON implements json.Unmarshaler with the rules on
// V1ExtraParameters.
func (p *V1ExtraParameters) UnmarshalJSON(b []byte) error {
	inner, ok := embeddedJSON(b, '{')
	if !ok {
		return typeError(b, reflect.TypeFor[V1ExtraParameters]())
	}
	var v v1ExtraParameters
	if inner != nil {
		if err := json.Unmarshal(inner, &v); err != nil {
			return &json.UnmarshalTypeError{Value: "string holding " + innerValue(err), Type: reflect.TypeFor[V1ExtraParameters]()}
		}
	}
	*p = V1ExtraParameters(v)
	return nil
}

// MarshalJSON writes the wire form: a string holding the JSON object, or ""
// when it is empty.
func (p V1ExtraParameters) MarshalJSON() ([]byte, error) {
	if len(p.InputsToSpend) == 0 && len(p.InputsToExclude) == 0 {
		return []byte(`""`), nil
	}
	return marshalEmbedded(v1ExtraParameters(p))
}

// embeddedJSON unwraps a value that v1 sends as a string holding JSON. It
// returns the JSON text to decode (a string's content, or the value itself
// when it already is a JSON value starting with open), nil for "nothing"
// (null, "", "null"), and ok=false for anything else.
func embeddedJSON(b []byte, open byte) (inner []byte, ok bool) {
	switch {
	case len(b) == 0:
		return nil, false
	case string(b) == "null":
		return nil, true
	case b[0] == open:
		return b, true
	case b[0] != '"':
		return nil, false
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, false
	}
	if s == "" || s == "null" {
		return nil, true
	}
	return []byte(s), true
}

// innerValue describes why the JSON inside a string was rejected.
func innerValue(err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		if te.Field != "" {
			return te.Value + " at " + te.Field
		}
		return te.Value
	}
	return "invalid JSON"
}

func marshalEmbedded(v any) ([]byte, error) {
	inner, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(string(inner))
}

// V1KeyReshare is the typed v1 KEYRESHARE payload.
type V1KeyReshare struct {
	Detail V1KeyReshareDetail
	Extra  V1KeyReshareExtra
}

// V1KeyReshareDetail is the v1 KEYRESHARE request_detail.
type V1KeyReshareDetail struct {
	OldGroupID   string   `json:"old_group_id"`
	RootPubKey   string   `json:"root_pub_key"`
	Curve        Curve    `json:"curve"`
	UsedNodeIDs  []string `json:"used_node_ids"`
	OldThreshold Int      `json:"old_threshold"`
	NewThreshold Int      `json:"new_threshold"`
	NewNodeIDs   []string `json:"new_node_ids"`
	TaskID       string   `json:"task_id"`
}

// V1KeyReshareExtra is the v1 KEYRESHARE extra_info.
type V1KeyReshareExtra struct {
	CoboID       string `json:"cobo_id"`
	APIRequestID string `json:"api_request_id"`
}
