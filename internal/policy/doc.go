// Package policy decides whether a decoded TSS Node request may run.
//
// It is the policy engine behind the decision pipeline's Decider seam: a
// YAML file of ordered CEL rules, compiled once at load into an immutable
// Policy, evaluated per request under cost limits, reloaded atomically by a
// Holder (whose gate, SetGate, lets serve refuse a policy without its
// approvers' signatures before it is used), and tested with RunTests. A
// Policy's Sources are the full hashes of the exact bytes it was compiled
// from, which internal/governance signs. The seam types (Decision, LimitUse,
// ShadowOutcome, Decider and the built-in Default that approves only PING
// when no policy is configured) belong to package decision; policy names
// them by alias. It imports protocol (the decoded request), decimal (exact
// amounts), decision and cel-go, and does no I/O while deciding. RunTests
// alone also imports gate and the SQLite store: it runs each test case
// through serve's pipeline with a temporary decision store.
//
// # Security model
//
// The engine fails closed. Only a complete evaluation that reaches a live
// approve rule, or a default of approve, yields APPROVE. A rule whose
// evaluation errors (a missing key, a type error, tx read on a request that
// has none, a decimal that does not parse, a cost limit, a non-bool
// result) ends evaluation with REJECT naming the rule and the error; it is
// never skipped. A request context that ends mid-evaluation is a Go error,
// which the server answers with an internal-error reply. A policy that does
// not load completely is refused as a whole, with every problem listed by
// file and line. The policy and list files are read only when they are
// regular files (opened without blocking, checked with fstat), and the
// Holder's watch never opens anything else: a named pipe left in the
// policy directory is a refused reload, never a hung one. The policy file
// is trusted configuration; the request is
// not, so nothing a request contains can make evaluation unbounded: each
// rule's program has a cost limit (1e6), all live rules of one request
// share a budget (1e7), shadow rules have a budget of their own, and
// comprehensions check the request context every 100 iterations.
//
// # The policy file
//
//	version: 1                # required; the only version
//	serial: 7                 # optional positive integer; required with governance,
//	                          # raised with every signed change (no rollback)
//	description: "..."        # optional, free text
//	default: reject           # approve | reject; when no live rule matches; absent: reject
//	lists:                    # named sets of strings
//	  treasury: ["0x47f9...", "TEDv9wo5..."]   # inline (quote every entry)
//	  known_nodes: {file: lists/nodes.txt}     # one entry a line, '#' comments,
//	                                           # relative to the policy file
//	rules:                    # in order; the first live rule whose when is true decides
//	  - name: too-large       # required, unique; "default", "verify", "builtin:*" reserved
//	    description: "..."    # optional, free text
//	    when: request.type == "KEYSIGN" && tx.amount > decimal("100")   # CEL, must be bool
//	    action: reject        # approve | reject
//	    reason: "over 100"    # reject rules only; absent: generated from the name
//	    mode: live            # live | shadow; absent: live
//	verify:                   # KEYSIGN transaction verification; absent: required for all
//	  default: required       # required | optional
//	  tokens: {BTC: optional} # by Cobo token_id, exact spelling; then chains: by chain_id
//	limits:                   # velocity limits, checked after the rules approve (limits.go)
//	  - name: eth-daily
//	    when: request.type == "KEYSIGN" && tx.token_id == "ETH"
//	    key: [tx.token_id]
//	    window: 24h
//	    max_amount: "100"
//
// Unknown keys, duplicate keys, a second YAML document, a rule that does
// not compile, a when that is not bool (dyn is checked at run time), a
// reference to a list the file does not define, a misspelt field of
// request or tx, a duplicate rule name, a decimal("...") literal that does
// not parse, a serial that is not a positive integer, a policy file name
// or list file path that is not printable ASCII (without leading or
// trailing space: manifests name them, and approvers read those), a
// string constant (also after constant folding) spelling an EVM address,
// a 64-hex-digit hash or a bech32/CashAddr address with upper case, or a
// CashAddr address without its prefix (it could never equal the canonical
// facts; addressSpelling), unless the spelling sent is the one to match
// (upperCaseLiterals: compared with detail, extra or a message's text, or
// an EVM probe of a list), a list entry
// with inner whitespace, a control or invisible format character, bytes
// that are not UTF-8, an upper-case 64-hex-digit hash, an upper-case
// bech32/CashAddr address or a prefix-less CashAddr (entryProblem; one
// byte order mark at the start of a list file is skipped), and a limit or
// verify entry that does not validate all refuse the policy. Version is a
// hash over the file and every list file, so a list change is a new
// version.
//
// A KEYSIGN whose transaction is not verified (Request.Verification) is
// rejected before any rule, as rule "verify", unless the verify section
// makes verification optional for a token or chain tssgate has no decoder
// for; only then do rules see tx.verified == false. Limits only say what
// an approval would consume (Decision.Limits); the decision store checks
// and records them atomically with the decision.
//
// # What rules see
//
//   - request: id (request_id), type ("PING", "KEYGEN", "KEYSIGN",
//     "KEYRESHARE", "KEYSHARESIGN"), version ("v1" or "v2": the endpoint
//     it came in on), node_key (name of the configured TSS Node key whose
//     signature verified the request).
//   - detail, extra: request_detail and extra_info as the node sent them,
//     as map(string, dyn). Integers are int; other numbers are exact
//     decimals; a field typed decoding reads as an integer (threshold,
//     curve, timestamps...) is an int however it was spelled ("1", 1,
//     a curve name), see protocol.Request.RuleDetail; a missing key is
//     an error (so the rule rejects): use has(detail.x) or "x" in detail
//     to test for one.
//   - tx: the KEYSIGN transaction, v1 and v2 mapped to one shape: id (v2
//     transaction_id, v1 cobo_id), cobo_id, chain_id and token_id (when
//     verified, the token table entry's spelling, v1 included; otherwise
//     Cobo's description: v2 chain_id, v1 coin), amount (decimal: the sum
//     over destinations, in token units), destinations (list of {address,
//     amount, token_account}; when verified from the bytes, an SPL
//     recipient's address being its owner wallet and token_account the
//     credited account, "" elsewhere), source_addresses, wallet_id, type
//     (Withdrawal, ContractCall...; v1 TRANSFER or CONTRACT_CALL),
//     initiator, initiator_type (API, Web...), msg_hashes
//     (request_detail.msg_hash_list in lower-case hex without 0x),
//     destination_type (Address, EVM_Contract...; an amount of 0 proves
//     nothing for contract calls and message signing, so look at this too),
//     verified (true only when the transaction bytes decoded, produce every
//     signed hash and agree with the description; then destinations,
//     amount, token_id and chain_id come from the bytes and the token
//     table) and decoded (what decoding established: chain, method,
//     max_fee...). Fields the protocol did not send read as "" or
//     []. For any other request type, and for a KEYSIGN without a
//     transaction, reading tx is an error, so the rule rejects.
//   - now: a timestamp, the request's received time (Request.ReceivedAt,
//     from the pipeline's one clock, which also ends the limit windows).
//     now.getHours("Asia/Singapore") and the other accessors take an IANA
//     zone; without one they use UTC.
//     The zone database is compiled in.
//   - lists.NAME: each list, as map(string, bool). `x in lists.NAME` is a
//     hash lookup, constant time however long the list.
//
// Addresses are normalized the same way in lists, in tx and in every list
// lookup: "0x" plus 40 hex digits (EVM) is compared in lower case, so an
// EIP-55 checksummed entry matches a lower-case address; every other
// string (base58 TRON, Solana, Bitcoin, node IDs) is compared exactly.
//
// # Money
//
// Amounts are decimals, never doubles. decimal("1.5") and decimal(15)
// make one (decimal("abc") is an error, so the rule rejects); decimals
// compare with <, <=, >, >=, ==, != and add and subtract with + and -, only
// with other decimals: tx.amount > 100 and tx.amount > 1.5 do not compile,
// and there is no conversion to double. sum(list) adds a list of decimals:
// sum(tx.destinations.map(d, d.amount)).
package policy
