package main

import (
	"fmt"
	"io"

	"tssgate/internal/policy"
)

const policyUsage = `Usage:
  tssgate policy check FILE              validate a policy file and print a summary
  tssgate policy test [--config FILE] FILE TESTS.yaml
                                         run policy-as-code tests against a policy
  tssgate policy manifest FILE           print what approvers sign (full hashes of the policy and its lists)
  tssgate policy sign --key FILE|--import SIG [--governance FILE] FILE
                                         add a signature to FILE.sigs
  tssgate policy verify [--governance FILE] FILE
                                         name who signed FILE.sigs; exit 1 unless the threshold is met
  tssgate policy replay CANDIDATE.yaml [--config FILE] [--since T] [--until T]
                        [--type T] [--json] [--examples N] [--fail-on loosen]
                                         re-decide recorded decisions under a candidate
                                         policy and print what would change (exit 1)

check compiles every rule and list exactly as 'tssgate serve --policy' does
and prints the rules, lists (with sizes) and the version hash that decisions
will carry; exit 1 with precise errors (file, line, rule) otherwise.

test decodes each case's request with the server's own decoder, verifies
each KEYSIGN's transaction bytes as the server does (the built-in token
table, plus tssgate.tokens from --config), evaluates it, and prints PASS or
FAIL per case; exit 1 on any failure.
`

const policyCheckUsage = `Usage: tssgate policy check FILE

Compiles every rule and list of the policy FILE exactly as 'tssgate serve
--policy' does and prints the rules, lists (with sizes) and the version hash
that decisions will carry; exit 1 with precise errors (file, line, rule).
It reads only the policy and its lists: no store, no data folder.
`

const policyTestUsage = `Usage: tssgate policy test [--config FILE] FILE TESTS.yaml

Runs the policy-as-code tests in TESTS.yaml against the policy FILE: each
case's request is decoded with the server's decoder, each KEYSIGN's
transaction bytes are verified as the server does (the built-in token
table, plus tssgate.tokens of the configuration: --config, TSSGATE_CONFIG),
and PASS or FAIL is printed per case; exit 1 on any failure.
`

func runPolicy(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, policyUsage)
		return 2
	}
	switch args[0] {
	case "check":
		fs := newFlagSet("policy check")
		if code, done := parseFlags(fs, args[1:], policyCheckUsage, stdout, stderr); done {
			return code
		}
		if fs.NArg() != 1 {
			fmt.Fprintf(stderr, "tssgate policy check: want one FILE\nRun 'tssgate policy check --help' for usage.\n")
			return 2
		}
		p, err := policy.Load(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		fmt.Fprint(stdout, p.Summary().String())
		return 0
	case "test":
		tfs := newFlagSet("policy test")
		sf := addSettingFlags(tfs, "config")
		if code, done := parseFlags(tfs, args[1:], policyTestUsage, stdout, stderr); done {
			return code
		}
		if tfs.NArg() != 2 {
			fmt.Fprintf(stderr, "tssgate policy test: want FILE and TESTS.yaml\nRun 'tssgate policy test --help' for usage.\n")
			return 2
		}
		cfg, err := loadSettings(sf, osEnvironment())
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		verifyTx, err := txVerifier(cfg.Tokens, cfg.ABIs)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		p, err := policy.Load(tfs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		passed, failed, err := policy.RunTestsVerifying(p, tfs.Arg(1), stdout, verifyTx)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		if failed > 0 || passed == 0 {
			if passed == 0 && failed == 0 {
				fmt.Fprintf(stderr, "%s: no test cases\n", tfs.Arg(1))
			}
			return 1
		}
		return 0
	case "manifest", "sign", "verify":
		return runSigning("policy", args[0], args[1:], stdout, stderr)
	case "help", "--help", "-h", "-help":
		fmt.Fprint(stdout, policyUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "policy: unknown subcommand %q\n\n%s", args[0], policyUsage)
		return 2
	}
}
