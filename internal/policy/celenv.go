package policy

import (
	"sort"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// Evaluation limits. The numbers follow the Kubernetes apiserver's CEL
// limits, where 1e6 cost units are roughly 0.1 s of CPU: far above what a
// sensible rule over one request needs, far below what would let a policy
// (or a request built to exploit one) stall the server.
const (
	// ruleCostLimit bounds one evaluation of one rule's `when`.
	ruleCostLimit = 1_000_000
	// requestCostBudget bounds the live rules of one request together;
	// shadow rules get a budget of the same size of their own, so that they
	// can never use up what the live rules need.
	requestCostBudget = 10_000_000
	// interruptCheckFrequency is how many comprehension iterations run
	// between checks of the request context.
	interruptCheckFrequency = 100
	// maxExpressionLength bounds the source of one expression, in code
	// points.
	maxExpressionLength = 16 * 1024
)

// CEL type names of the engine's objects, as they appear in compile errors
// ("undefined field 'amout'" on tssgate.Transaction).
const (
	requestTypeName     = "tssgate.Request"
	transactionTypeName = "tssgate.Transaction"
	destinationTypeName = "tssgate.Destination"
	decodedTypeName     = "tssgate.Decoded"
	messageTypeName     = "tssgate.Message"
	domainTypeName      = "tssgate.Domain"
	permitTypeName      = "tssgate.Permit"
	callTypeName        = "tssgate.Call"
	grantTypeName       = "tssgate.Grant"
	inputTypeName       = "tssgate.Input"
	outputTypeName      = "tssgate.Output"
	listsTypeName       = "tssgate.Lists"
)

// Overload IDs of the engine's functions.
const (
	overloadDecimalString  = "decimal_string"
	overloadDecimalInt     = "decimal_int"
	overloadDecimalDecimal = "decimal_decimal"
	overloadSumDecimal     = "sum_list_decimal"
)

// The object types are the same for every policy, except lists, whose
// fields are the policy's list names.
var (
	requestObject = newObjectType(requestTypeName,
		[]string{"id", "type", "version", "node_key"},
		[]*types.Type{types.StringType, types.StringType, types.StringType, types.StringType})

	destinationObject = newObjectType(destinationTypeName,
		[]string{"address", "amount", "token_account"},
		[]*types.Type{types.StringType, decimalType, types.StringType})

	// UTXO inputs and outputs (tx.decoded.inputs, tx.decoded.outputs).
	inputObject = newObjectType(inputTypeName,
		[]string{"outpoint", "address", "amount", "script_type", "amount_signed"},
		[]*types.Type{types.StringType, types.StringType, decimalType, types.StringType, types.BoolType})

	outputObject = newObjectType(outputTypeName,
		[]string{"address", "amount", "change", "op_return"},
		[]*types.Type{types.StringType, decimalType, types.BoolType, types.StringType})

	decodedObject = newObjectType(decodedTypeName,
		[]string{"chain", "tx_type", "method", "selector", "token_contract", "destinations", "nonce", "chain_id", "reason", "max_fee",
			"inputs", "outputs", "locktime", "rbf", "fee"},
		[]*types.Type{
			types.StringType, types.StringType, types.StringType, types.StringType, types.StringType,
			types.NewListType(destinationObject.celType), types.IntType, types.StringType, types.StringType, decimalType,
			types.NewListType(inputObject.celType), types.NewListType(outputObject.celType), types.IntType, types.BoolType, decimalType,
		})

	domainObject = newObjectType(domainTypeName,
		[]string{"name", "version", "chain_id", "verifying_contract", "salt"},
		[]*types.Type{types.StringType, types.StringType, types.StringType, types.StringType, types.StringType})

	permitObject = newObjectType(permitTypeName,
		[]string{"spender", "tokens", "amounts", "expirations", "deadline", "owner", "nonce"},
		[]*types.Type{
			types.StringType, types.NewListType(types.StringType), types.NewListType(decimalType),
			types.NewListType(decimalType), decimalType, types.StringType, decimalType,
		})

	// jsonMapType is a map of canonical values (typed-data members,
	// decoded call arguments): strings, bools, decimals, lists and maps.
	jsonMapType = types.NewMapType(types.StringType, types.DynType)

	messageObject = newObjectType(messageTypeName,
		[]string{"kind", "text", "hex", "signer", "domain", "primary_type", "message", "undeclared", "permit", "unlimited"},
		[]*types.Type{
			types.StringType, types.StringType, types.StringType, types.StringType, domainObject.celType,
			types.StringType, jsonMapType, jsonMapType, permitObject.celType, types.BoolType,
		})

	grantObject = newObjectType(grantTypeName,
		[]string{"token", "spender", "amount", "all", "revoke"},
		[]*types.Type{types.StringType, types.StringType, decimalType, types.BoolType, types.BoolType})

	callObject = newObjectType(callTypeName,
		[]string{"contract", "selector", "method", "signature", "args", "grants"},
		[]*types.Type{
			types.StringType, types.StringType, types.StringType, types.StringType, jsonMapType,
			types.NewListType(grantObject.celType),
		})

	transactionObject = newObjectType(transactionTypeName,
		[]string{
			"id", "cobo_id", "chain_id", "token_id", "amount", "destinations",
			"source_addresses", "wallet_id", "type", "initiator", "initiator_type",
			"msg_hashes", "destination_type", "verified", "decoded", "message", "call",
		},
		[]*types.Type{
			types.StringType, types.StringType, types.StringType, types.StringType, decimalType,
			types.NewListType(destinationObject.celType),
			types.NewListType(types.StringType), types.StringType, types.StringType, types.StringType, types.StringType,
			types.NewListType(types.StringType), types.StringType, types.BoolType, decodedObject.celType,
			messageObject.celType, callObject.celType,
		})

	// engineObjects are the engine's object types by CEL type name, except
	// lists (whose fields depend on the policy).
	engineObjects = map[string]*objectType{
		requestTypeName:     requestObject,
		transactionTypeName: transactionObject,
		destinationTypeName: destinationObject,
		decodedTypeName:     decodedObject,
		messageTypeName:     messageObject,
		domainTypeName:      domainObject,
		permitTypeName:      permitObject,
		callTypeName:        callObject,
		grantTypeName:       grantObject,
		inputTypeName:       inputObject,
		outputTypeName:      outputObject,
	}
)

// listSetType is how CEL sees each list.
var listSetType = types.NewMapType(types.StringType, types.BoolType)

// newListsObject declares lists.NAME for exactly the policy's lists, so
// that a reference to any other name fails to compile.
func newListsObject(names []string) *objectType {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	fieldTypes := make([]*types.Type, len(sorted))
	for i := range fieldTypes {
		fieldTypes[i] = listSetType
	}
	return newObjectType(listsTypeName, sorted, fieldTypes)
}

// provider adds the engine's object types to the standard CEL registry.
type provider struct {
	types.Provider
	objects map[string]*objectType
}

func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if t, ok := p.objects[name]; ok {
		return types.NewTypeTypeWithParam(t.celType), true
	}
	return p.Provider.FindStructType(name)
}

func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if t, ok := p.objects[name]; ok {
		return append([]string(nil), t.names...), true
	}
	return p.Provider.FindStructFieldNames(name)
}

func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if t, ok := p.objects[name]; ok {
		ft, ok := t.fields[field]
		return ft, ok
	}
	return p.Provider.FindStructFieldType(name, field)
}

// NewValue refuses to build the engine's objects: a policy reads the
// request, it does not forge one.
func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.objects[name]; ok {
		return types.NewErr("%s values cannot be constructed in a policy", name)
	}
	return p.Provider.NewValue(name, fields)
}

// newEnv builds the CEL environment for one policy: the standard library
// and macros, the variables rules see, decimal(), sum(), the decimal
// operators, and lists.NAME for the given lists. It is built once per load;
// every rule's program is compiled from it.
func newEnv(lists *objectType) (*cel.Env, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, err
	}
	objects := map[string]*objectType{listsTypeName: lists}
	for name, o := range engineObjects {
		objects[name] = o
	}
	prov := &provider{Provider: reg, objects: objects}
	dec := decimalType
	pair := []*cel.Type{dec, dec}
	return cel.NewEnv(
		cel.CustomTypeProvider(prov),
		cel.DefaultUTCTimeZone(true),
		cel.ParserExpressionSizeLimit(maxExpressionLength),
		cel.Variable("request", requestObject.celType),
		cel.Variable("tx", transactionObject.celType),
		cel.Variable("detail", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("extra", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("now", cel.TimestampType),
		cel.Variable("lists", lists.celType),
		cel.Function("decimal",
			cel.Overload(overloadDecimalString, []*cel.Type{cel.StringType}, dec, cel.UnaryBinding(parseDecimalVal)),
			cel.Overload(overloadDecimalInt, []*cel.Type{cel.IntType}, dec, cel.UnaryBinding(intDecimalVal)),
			// decimal(x) of a decimal is x, so that decimal(detail.fee)
			// works whether the node sent an integer or a fraction.
			cel.Overload(overloadDecimalDecimal, []*cel.Type{dec}, dec, cel.UnaryBinding(func(v ref.Val) ref.Val { return v }))),
		cel.Function("sum",
			cel.Overload(overloadSumDecimal, []*cel.Type{cel.ListType(dec)}, dec, cel.UnaryBinding(sumDecimals))),
		// The standard operators dispatch at run time on the comparer, adder
		// and subtractor traits decVal implements; these declarations only
		// teach the type checker that decimal op decimal is valid. Nothing
		// declares decimal against int or double, so mixing fails to
		// compile.
		cel.Function(operators.Less, cel.Overload("less_decimal", pair, cel.BoolType)),
		cel.Function(operators.LessEquals, cel.Overload("less_equals_decimal", pair, cel.BoolType)),
		cel.Function(operators.Greater, cel.Overload("greater_decimal", pair, cel.BoolType)),
		cel.Function(operators.GreaterEquals, cel.Overload("greater_equals_decimal", pair, cel.BoolType)),
		cel.Function(operators.Add, cel.Overload("add_decimal", pair, dec)),
		cel.Function(operators.Subtract, cel.Overload("subtract_decimal", pair, dec)),
	)
}

// programOptions are the options every rule's program is built with.
func programOptions() []cel.ProgramOption {
	sumCost := func(args []ref.Val, _ ref.Val) *uint64 {
		n := uint64(1)
		if len(args) == 1 {
			if l, ok := args[0].(traits.Sizer); ok {
				if size, ok := l.Size().(types.Int); ok && size > 0 {
					n += uint64(size)
				}
			}
		}
		return &n
	}
	return []cel.ProgramOption{
		cel.CostLimit(ruleCostLimit),
		cel.InterruptCheckFrequency(interruptCheckFrequency),
		cel.CostTrackerOptions(
			cost.OverloadTracker(overloadSumDecimal, sumCost),
			cost.OverloadTracker("sum", sumCost),
		),
	}
}
