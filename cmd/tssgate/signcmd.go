package main

import (
	"fmt"
	"io"
	"strings"

	"tssgate/internal/governance"
	"tssgate/internal/policy"
)

const policyManifestUsage = `Usage: tssgate policy manifest [--governance FILE | --config FILE] FILE

Prints the manifest of the policy FILE: the deployment named by the
governance file (--governance, or tssgate.governance of --config), then
the full SHA-256 of the policy file and of every list file it names, with
their names. It is what approvers sign (tssgate policy sign, or
ssh-keygen -Y sign -n tssgate-policy) and what serve checks against
FILE.sigs when tssgate.governance is configured:

  tssgate-manifest v1
  deployment <name>          only when the governance file names one
  policy <sha256> <policy file name>
  list <sha256> <list file as the policy names it>

Without a governance file there is no deployment line (a warning on
stderr says so): give the governance when it names a deployment, or the
signature will not count. The policy is compiled first (as 'policy
check' does): a policy that does not load has no manifest. Exit 1 on any
error.
`

const policySignUsage = `Usage: tssgate policy sign (--key FILE | --import SIG) [--governance FILE | --config FILE] POLICY.yaml

Adds a signature over the policy's manifest to its bundle POLICY.yaml.sigs
(created if missing; a signature by the same key is replaced).

  --key FILE     sign with an OpenSSH Ed25519 private key (unencrypted)
  --import SIG   add a signature made elsewhere, e.g.
                   tssgate policy manifest POLICY.yaml > m
                   ssh-keygen -Y sign -f KEY -n tssgate-policy m   # writes m.sig
                   tssgate policy sign --import m.sig POLICY.yaml

The governance file (--governance, or tssgate.governance of --config)
names the approvers and the deployment the manifest carries (see 'policy
manifest'): --import requires it and refuses a signature that is
not valid for the current manifest or not by an approver; --key uses it
to refuse a key no approver holds, and warns when none is given.
`

const policyVerifyUsage = `Usage: tssgate policy verify [--governance FILE | --config FILE] POLICY.yaml

Checks POLICY.yaml.sigs against the policy's current manifest and the
governance file (--governance, or tssgate.governance of --config): names
each approver who signed, reports every signature that does not count and
why, and exits 0 only when the threshold is met (1 otherwise, 2 on usage
errors). Serve checks the governance in force in its store, which is this
file unless a change is pending.
`

const governanceUsage = `Usage:
  tssgate governance manifest [--governance CURRENT | --config FILE] NEW.yaml
  tssgate governance sign (--key FILE | --import SIG) [--governance CURRENT | --config FILE] NEW.yaml
  tssgate governance verify [--governance CURRENT | --config FILE] NEW.yaml

A governance file (threshold, approvers, optional deployment and serial) is changed
like a policy: threshold approvers of the governance in force (CURRENT:
--governance, or tssgate.governance of --config; required) sign the
change's manifest into NEW.yaml.sigs:

  tssgate-manifest v1
  deployment <name>          CURRENT's deployment, when it names one
  replaces <sha256 of CURRENT>
  governance <sha256 of NEW.yaml> <name>

Serve adopts the new file at start only with that quorum over a manifest
whose replaces line is the governance in force; without it serve refuses
to start and the governance in force stays, at every start. Signatures
made for an earlier change (replacing another governance) never count.
NEW.yaml must also carry a top-level "serial: N" above CURRENT's (none
counts as 0), so that a governance put back after it was replaced is not
adopted again on its old signatures; verify exits 1 when it does not.
`

// runSigning runs policy manifest|sign|verify (kind "policy") and
// governance manifest|sign|verify (kind "governance").
func runSigning(kind, sub string, args []string, stdout, stderr io.Writer) int {
	name := kind + " " + sub
	fs := newFlagSet(name)
	var usage string
	var key, imp *string
	var sf *settingFlags
	switch sub {
	case "manifest":
		usage = policyManifestUsage
	case "sign":
		usage = policySignUsage
		key = fs.String("key", "", "OpenSSH Ed25519 private key to sign with")
		imp = fs.String("import", "", "an armored SSH signature (ssh-keygen -Y sign -n tssgate-policy) to add")
	case "verify":
		usage = policyVerifyUsage
	}
	if kind == "governance" {
		usage = governanceUsage
	}
	sf = addSettingFlags(fs, "config", "governance")
	if code, done := parseFlags(fs, args, usage, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "tssgate %s: want one FILE\nRun 'tssgate %s --help' for usage.\n", name, name)
		return 2
	}
	target := fs.Arg(0)
	if sub == "sign" && (*key == "") == (*imp == "") {
		fmt.Fprintf(stderr, "tssgate %s: give exactly one of --key FILE and --import SIG\n", name)
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "tssgate %s: %s\n", name, fmt.Sprintf(format, a...))
		return 1
	}
	var gov *governance.Governance
	cfg, err := loadSettings(sf, osEnvironment())
	if err != nil {
		return fail("%v", err)
	}
	if cfg.Governance != "" {
		if gov, err = governance.Load(cfg.Governance); err != nil {
			return fail("%v", err)
		}
	}
	if kind == "governance" && gov == nil {
		fmt.Fprintf(stderr, "tssgate %s: the governance in force is required (--governance CURRENT or tssgate.governance in --config): a change's manifest names the governance it replaces, and its approvers sign it\n", name)
		return 2
	}
	m, err := manifestOf(kind, target, gov)
	if err != nil {
		return fail("%v", err)
	}
	if sub == "manifest" {
		if gov == nil {
			fmt.Fprintf(stderr, "tssgate %s: WARNING: no governance file given: the manifest has no deployment line; if the governance names a deployment, give it with --governance\n", name)
		}
		stdout.Write(m.Text)
		return 0
	}
	bundle := governance.BundlePath(target)
	switch sub {
	case "verify":
		if gov == nil {
			fmt.Fprintf(stderr, "tssgate %s: the governance file is required (--governance FILE or tssgate.governance in --config): it names the approvers\n", name)
			return 2
		}
		sigs, err := governance.ReadBundle(bundle)
		if err != nil {
			return fail("%v", err)
		}
		res := gov.Check(m.Text, sigs)
		fmt.Fprintf(stdout, "manifest sha256 %s (%s)\n", m.SHA256(), target)
		for _, s := range res.Signers {
			fmt.Fprintf(stdout, "signed by %s (%s)\n", s.Name, s.Fingerprint)
		}
		for _, p := range res.Problems {
			fmt.Fprintf(stdout, "NOT COUNTED: %s\n", p)
		}
		serialProblem := ""
		if kind == "governance" {
			serialProblem = changeSerialProblem(target, gov)
		}
		if !res.Met {
			fmt.Fprintf(stdout, "threshold NOT met: %d of %d required approvers signed (%s)\n", len(res.Signers), res.Threshold, bundle)
			if serialProblem != "" {
				fmt.Fprintf(stdout, "serial NOT raised: %s\n", serialProblem)
			}
			return 1
		}
		fmt.Fprintf(stdout, "threshold met: %d of %d required approvers signed\n", len(res.Signers), res.Threshold)
		if serialProblem != "" {
			fmt.Fprintf(stdout, "serial NOT raised: %s\n", serialProblem)
			return 1
		}
		return 0
	case "sign":
		var sig []byte
		if *imp != "" {
			if gov == nil {
				fmt.Fprintf(stderr, "tssgate %s: --import needs the governance file (--governance FILE or tssgate.governance in --config) to check the signer\n", name)
				return 2
			}
			if sig, err = governance.ReadRegularFile(*imp, 1<<20); err != nil {
				return fail("--import: %v", err)
			}
		} else {
			if sig, err = governance.Sign(*key, m.Text); err != nil {
				return fail("%v", err)
			}
		}
		parsed, err := governance.ParseSignature(sig)
		if err != nil {
			return fail("%s: %v", *imp, err)
		}
		if err := parsed.Verify(m.Text); err != nil {
			return fail("the signature is not valid for the current manifest of %s (sha256 %s): %v; nothing added", target, m.SHA256(), err)
		}
		signer := ""
		if gov != nil {
			ap, ok := gov.Approver(parsed.Key)
			if !ok {
				return fail("key %s is not an approver's in %s; nothing added", governance.Fingerprint(parsed.Key), cfg.Governance)
			}
			signer = ap.Name
		} else {
			fmt.Fprintf(stderr, "tssgate %s: WARNING: no governance file given: the signer is not checked against the approvers, and the manifest signed has no deployment line (it will not count if the governance names a deployment)\n", name)
		}
		if err := governance.AddToBundle(bundle, sig, signer, m.SHA256()); err != nil {
			return fail("%v", err)
		}
		who := signer
		if who == "" {
			who = governance.Fingerprint(parsed.Key)
		}
		fmt.Fprintf(stdout, "added the signature of %s over manifest sha256 %s to %s\n", who, m.SHA256(), bundle)
		return 0
	}
	return 2
}

// changeSerialProblem says why serve would refuse the governance change
// to the file at path from the governance in force gov for its serial
// (it must be above gov's), or returns "" when the serial is fine or the
// file cannot be read (the manifest step reports that).
func changeSerialProblem(path string, gov *governance.Governance) string {
	next, err := governance.Load(path)
	if err != nil || gov == nil || next.Serial > gov.Serial {
		return ""
	}
	return fmt.Sprintf("%s has serial %d, not above the serial %d of the governance in force: serve refuses the change; give it a top-level `serial: %d` (or higher) and sign again", path, next.Serial, gov.Serial, gov.Serial+1)
}

// manifestOf builds the manifest of a policy file signed under gov (nil:
// none given), or of the change from the governance in force gov to the
// governance file at path.
func manifestOf(kind, path string, gov *governance.Governance) (*governance.Manifest, error) {
	if kind == "governance" {
		g, err := governance.Load(path)
		if err != nil {
			return nil, err
		}
		return governance.ChangeManifest(g, gov)
	}
	p, err := policy.Load(path)
	if err != nil {
		return nil, err
	}
	return governance.PolicyManifest(p, gov)
}

// runGovernance dispatches tssgate governance SUBCOMMAND.
func runGovernance(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, governanceUsage)
		return 2
	}
	switch args[0] {
	case "manifest", "sign", "verify":
		return runSigning("governance", args[0], args[1:], stdout, stderr)
	case "help", "--help", "-h", "-help":
		fmt.Fprint(stdout, governanceUsage)
		return 0
	}
	fmt.Fprintf(stderr, "governance: unknown subcommand %q\n\n%s", args[0], strings.TrimSpace(governanceUsage)+"\n")
	return 2
}
