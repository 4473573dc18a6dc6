/**
 * The rule catalogue (EKM-01..EKM-21) as data, copied from the project's spec so that nothing
 * reads the spec folder at run time. `quote` is the help article's own sentence the rule rests on.
 * Ids are stable: scenarios, reports and CI gates refer to them.
 */
export const RULE_IDS = [
  'EKM-01', 'EKM-02', 'EKM-03', 'EKM-04', 'EKM-05', 'EKM-06', 'EKM-07', 'EKM-08', 'EKM-09', 'EKM-10',
  'EKM-11', 'EKM-12', 'EKM-13', 'EKM-14', 'EKM-15', 'EKM-16', 'EKM-17', 'EKM-18', 'EKM-19', 'EKM-20',
  'EKM-21',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

export interface Rule {
  readonly id: RuleId;
  readonly title: string;
  /** `documented`: the article says it; `derived`: the article implies it and a careful provider must do it. */
  readonly kind: 'documented' | 'derived';
  readonly quote: string;
  /** The project's written position where the article is silent: what a test holds the provider to. */
  readonly position?: string;
}

export const RULES: readonly Rule[] = [
  {
    id: 'EKM-01',
    kind: 'documented',
    title: 'EKM is under controlled availability: until support activates it for the account, its settings are not offered and enabling is refused.',
    quote: "Without this activation, you won't see the configuration fields",
  },
  {
    id: 'EKM-02',
    kind: 'documented',
    title: "The console shows the provider's 12-digit AWS account ID in the EKM section; it is the principal the customer's key policy must allow.",
    quote: 'Copy your 12-digit Druva AWS account ID',
  },
  {
    id: 'EKM-03',
    kind: 'documented',
    title: 'Only AWS KMS keys are accepted, identified by a key ARN. Azure Key Vault and Google Cloud KMS key identifiers are refused as unsupported; malformed ARNs, alias ARNs and ARNs of other services are refused with a reason that says what is wrong.',
    quote: 'Customer keys hosted in non-AWS environments, including Microsoft Azure or Google Cloud, are not supported.',
  },
  {
    id: 'EKM-04',
    kind: 'documented',
    title: 'AWS-integrated third-party keys are accepted when usable: keys with imported key material (Origin EXTERNAL) and multi-Region keys work like any other KMS key.',
    quote: 'supports all AWS-integrated third-party enterprise keys',
  },
  {
    id: 'EKM-05',
    kind: 'documented',
    title: 'The key must be a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT). Asymmetric and HMAC keys are refused at validation.',
    quote: 'Create key > Symmetric key',
  },
  {
    id: 'EKM-06',
    kind: 'documented',
    title: "Submitting an ARN validates it by using the key from the provider's account; success gives a confirmation, failure gives the precise reason (not found, disabled, pending deletion, material missing, access denied by key policy, wrong key type, unreachable) and changes nothing.",
    quote: 'The ARN is validated, and a confirmation message appears upon successful authentication.',
  },
  {
    id: 'EKM-07',
    kind: 'documented',
    title: 'Enabling completes only when the legal terms are accepted; declining or abandoning leaves Cloud Key Management in force and nothing changed.',
    quote: 'Click Yes, I Agree. Enterprise Key Management gets enabled',
  },
  {
    id: 'EKM-08',
    kind: 'documented',
    title: "Enabling EKM disables Cloud Key Management: from then on all backup data of the account, including backups taken before, is protected by the customer's key.",
    quote: 'Enabling Enterprise Key Management will automatically disable Cloud Key Management',
  },
  {
    id: 'EKM-09',
    kind: 'documented',
    title: 'There is no way back: no operation returns an EKM account to Cloud Key Management.',
    quote: "Once you switch to Enterprise Key Management, you can't return to the default Cloud Key Management.",
  },
  {
    id: 'EKM-10',
    kind: 'documented',
    title: 'After enabling, key management shows the key ARN and the status Enabled.',
    quote: 'KMS key ARN is displayed on the Key Management tab, with External Cloud Key Management status as Enabled.',
  },
  {
    id: 'EKM-11',
    kind: 'documented',
    title: "Scheduled backups, manual backups, in-place restores of Entra ID entities and downloads each use the customer's key (KMS calls from the provider's account, visible in the audit trail).",
    quote: 'These workflows can use your key to encrypt or decrypt your data',
  },
  {
    id: 'EKM-12',
    kind: 'documented',
    title: 'After the customer revokes access (disables the key, removes the provider from the key policy, revokes a grant, schedules deletion, deletes imported key material or lets it expire), the next backup, restore and download fail with a key-access error. A failed workflow commits no partial data and loses nothing already backed up.',
    quote: "If you revoke an encryption key's access, then the subsequent backups, restores, or downloads will fail.",
  },
  {
    id: 'EKM-13',
    kind: 'derived',
    title: 'When access is given back (key re-enabled, deletion cancelled, policy restored, the same material re-imported), workflows succeed again and earlier backups restore intact.',
    quote: 'Control access to data backed up by Druva.',
  },
  {
    id: 'EKM-14',
    kind: 'documented',
    title: 'Updating the key validates the new ARN exactly as EKM-06; on success the new ARN replaces the old one.',
    quote: 'The KMS Key ARN, upon successful validation, is updated.',
  },
  {
    id: 'EKM-15',
    kind: 'documented',
    title: 'Both keys must stay usable until the update completes. If the old key is deactivated before, the update fails, the old ARN stays configured and no data becomes unreadable through the update itself.',
    quote: 'do not deactivate the old customer-managed AWS KMS key until the new key has been fully integrated',
  },
  {
    id: 'EKM-16',
    kind: 'documented',
    title: 'Once the update has completed, the old key can be disabled or deleted without any effect on backups, restores or downloads: all data is now protected by the new key.',
    quote: 'all the required permissions are transferred from the old key to the new encryption key before the AWS KMS purges the old key',
  },
  {
    id: 'EKM-17',
    kind: 'documented',
    title: 'Rotating key material inside AWS KMS (automatic or on demand) needs no change in the console, and every backup stays restorable.',
    quote: 'generate, revoke, rotate, and destroy them as needed',
  },
  {
    id: 'EKM-18',
    kind: 'derived',
    title: 'Destroying the key (deletion after its waiting period) makes the data it protects permanently unrecoverable: restores and downloads report it as such, never as a transient error.',
    quote: 'generate, revoke, rotate, and destroy them as needed',
  },
  {
    id: 'EKM-19',
    kind: 'derived',
    title: 'Revocation bites at the next workflow: no plaintext key outlives the workflow that unwrapped it (or a stated, tested cache bound).',
    quote: 'the subsequent backups, restores, or downloads will fail',
    position:
      'Work already running when access is revoked or the key is updated finishes with the tenant key it already unwrapped; the next workflow fails. The model takes held work first and the steps run during it after (scenarios/running, the explorer\'s held backups). A key update held mid-rewrap with the old key revoked is bounded by EKM-15: it either completes with what it already read or fails leaving the old key in force, never data readable by neither.',
  },
  {
    id: 'EKM-20',
    kind: 'derived',
    title: 'Every KMS call names the tenant and purpose in its encryption context; material wrapped for one tenant cannot be unwrapped for another, and tampered data is refused.',
    quote: 'Secure backed-up data.',
  },
  {
    id: 'EKM-21',
    kind: 'derived',
    title: 'Destroying the key loses the data it protects, not the account: after the key is deleted (its waiting period over), the customer can configure a new key, later backups are protected by it, and the console lists the snapshots that can no longer be restored. EKM-15 still holds for a key that is only deactivated.',
    quote: 'generate, revoke, rotate, and destroy them as needed',
  },
];

const byId = new Map<RuleId, Rule>(RULES.map((r) => [r.id, r]));

export function isRuleId(value: unknown): value is RuleId {
  return typeof value === 'string' && byId.has(value as RuleId);
}

export function ruleById(id: RuleId): Rule;
export function ruleById(id: string): Rule | undefined;
export function ruleById(id: string): Rule | undefined {
  return byId.get(id as RuleId);
}
