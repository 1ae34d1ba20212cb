import type { Attributes } from '@libs/attestors/attestor';
import type { RuleSpec } from '../spec-types';
import { compileRule } from './compile-rule';

const machine: Attributes = {
  'aws_iid.ec2.instance.tag.env': ['prod'],
  'aws_iid.iam.role': ['arn:aws:iam::111111111111:role/web-frontend', 'arn:aws:iam::111111111111:role/ops'],
  'aws_iid.ec2.instance.private_ip': ['10.1.2.3'],
  'aws_iid.ec2.instance.private_dns_name': ['ip-10-1-2-3.ec2.internal'],
  'aws_iid.ec2.security_group.name': ['web', 'ssh'],
  'k8s_psat.node.name': ['ip-10-1-2-3.ec2.internal'],
  'azure_msi.network.subnet': ['rg:vnet:default'],
  'aws_iid.eks.cluster.name': [],
};

const holds = (rule: RuleSpec, attributes: Attributes = machine) => compileRule(rule)(attributes);
const env = 'aws_iid.ec2.instance.tag.env';
const role = 'aws_iid.iam.role';
const groups = 'aws_iid.ec2.security_group.name';
const missing = 'aws_iid.ec2.instance.tag.team';

describe('compileRule', () => {
  describe('equals', () => {
    it('holds when some value equals', () => expect(holds({ attribute: groups, equals: 'ssh' })).toBe(true));
    it('does not hold when no value equals', () => expect(holds({ attribute: groups, equals: 'db' })).toBe(false));
    it('does not hold for a missing attribute', () => expect(holds({ attribute: missing, equals: '' })).toBe(false));
    it('with every, holds only when all values equal', () => {
      expect(holds({ attribute: groups, equals: 'web', every: true })).toBe(false);
      expect(holds({ attribute: env, equals: 'prod', every: true })).toBe(true);
    });
    it('with every, does not hold for a missing attribute', () =>
      expect(holds({ attribute: missing, equals: 'x', every: true })).toBe(false));
  });

  describe('in', () => {
    it('holds when some value is listed', () => expect(holds({ attribute: env, in: ['staging', 'prod'] })).toBe(true));
    it('does not hold when no value is listed', () => expect(holds({ attribute: env, in: ['staging'] })).toBe(false));
    it('does not hold for a missing attribute', () => expect(holds({ attribute: missing, in: ['prod'] })).toBe(false));
    it('with every, requires every value listed', () => {
      expect(holds({ attribute: groups, in: ['web', 'ssh'], every: true })).toBe(true);
      expect(holds({ attribute: groups, in: ['web'], every: true })).toBe(false);
    });
  });

  describe('glob', () => {
    it('holds when some value matches', () =>
      expect(holds({ attribute: role, glob: 'arn:aws:iam::*:role/web-*' })).toBe(true));
    it('does not hold when no value matches', () =>
      expect(holds({ attribute: role, glob: 'arn:aws:iam::*:role/db-*' })).toBe(false));
    it('with every, requires every value to match', () => {
      expect(holds({ attribute: role, glob: 'arn:aws:iam::111111111111:role/*', every: true })).toBe(true);
      expect(holds({ attribute: role, glob: 'arn:aws:iam::*:role/web-*', every: true })).toBe(false);
    });
    it('does not hold for a missing attribute', () => expect(holds({ attribute: missing, glob: '*' })).toBe(false));
  });

  describe('regex', () => {
    it('holds when some value matches', () => expect(holds({ attribute: role, regex: 'role/web-[a-z]+$' })).toBe(true));
    it('does not hold when no value matches', () => expect(holds({ attribute: role, regex: '^role/' })).toBe(false));
    it('with every, requires every value to match', () => {
      expect(holds({ attribute: role, regex: '^arn:aws:iam::[0-9]{12}:role/', every: true })).toBe(true);
      expect(holds({ attribute: role, regex: 'web', every: true })).toBe(false);
    });
    it('does not hold for a missing attribute', () => expect(holds({ attribute: missing, regex: '' })).toBe(false));
  });

  describe('cidr', () => {
    const ip = 'aws_iid.ec2.instance.private_ip';
    it('holds when some value is inside the block', () =>
      expect(holds({ attribute: ip, cidr: '10.0.0.0/8' })).toBe(true));
    it('does not hold when no value is inside', () =>
      expect(holds({ attribute: ip, cidr: '192.168.0.0/16' })).toBe(false));
    it('holds for an IPv6 value inside an IPv6 block', () => {
      expect(holds({ attribute: ip, cidr: 'fd00::/8' }, { [ip]: ['fd00:ec2::254'] })).toBe(true);
    });
    it('does not hold for an IPv6 value outside an IPv6 block', () => {
      expect(holds({ attribute: ip, cidr: 'fd00::/8' }, { [ip]: ['2001:db8::1'] })).toBe(false);
    });
    it('with every, requires every value inside', () => {
      expect(holds({ attribute: ip, cidr: '10.0.0.0/8', every: true }, { [ip]: ['10.0.0.1', '11.0.0.1'] })).toBe(false);
      expect(holds({ attribute: ip, cidr: '10.0.0.0/8', every: true }, { [ip]: ['10.0.0.1', '10.9.0.1'] })).toBe(true);
    });
    it('does not hold for a value that is not an address', () => {
      expect(holds({ attribute: ip, cidr: '10.0.0.0/8' }, { [ip]: ['not-an-ip'] })).toBe(false);
    });
  });

  describe('exists', () => {
    it('true holds when the attribute has a value', () => expect(holds({ attribute: env, exists: true })).toBe(true));
    it('true does not hold when the attribute is missing', () =>
      expect(holds({ attribute: missing, exists: true })).toBe(false));
    it('true does not hold when the attribute has no values', () => {
      expect(holds({ attribute: 'aws_iid.eks.cluster.name', exists: true })).toBe(false);
    });
    it('false holds when the attribute is missing', () =>
      expect(holds({ attribute: missing, exists: false })).toBe(true));
    it('false does not hold when the attribute has a value', () =>
      expect(holds({ attribute: env, exists: false })).toBe(false));
  });

  describe('equalsAttribute', () => {
    const node = 'k8s_psat.node.name';
    const dns = 'aws_iid.ec2.instance.private_dns_name';
    it('holds when the two attributes share a value', () =>
      expect(holds({ attribute: node, equalsAttribute: dns })).toBe(true));
    it('does not hold when they share none', () => {
      expect(holds({ attribute: node, equalsAttribute: dns }, { ...machine, [node]: ['other'] })).toBe(false);
    });
    it('does not hold when either is missing', () => {
      expect(holds({ attribute: node, equalsAttribute: missing })).toBe(false);
      expect(holds({ attribute: missing, equalsAttribute: node })).toBe(false);
    });
  });

  describe('logic', () => {
    const yes: RuleSpec = { attribute: env, equals: 'prod' };
    const no: RuleSpec = { attribute: env, equals: 'dev' };
    it('not inverts', () => {
      expect(holds({ not: yes })).toBe(false);
      expect(holds({ not: no })).toBe(true);
    });
    it('not over a missing attribute holds (a positive rule on it is false)', () => {
      expect(holds({ not: { attribute: groups, equals: 'quarantine' } }, {})).toBe(true);
    });
    it('allOf holds only when every rule holds', () => {
      expect(holds({ allOf: [yes, yes] })).toBe(true);
      expect(holds({ allOf: [yes, no] })).toBe(false);
    });
    it('anyOf holds when some rule holds', () => {
      expect(holds({ anyOf: [no, yes] })).toBe(true);
      expect(holds({ anyOf: [no, no] })).toBe(false);
    });
    it('nests', () => {
      expect(holds({ allOf: [{ anyOf: [no, { not: no }] }, { not: { allOf: [yes, no] } }] })).toBe(true);
    });
  });

  describe('malformed attribute maps', () => {
    const rule = compileRule({ attribute: env, equals: 'prod' });
    it('treats a non-array value as missing', () => {
      expect(rule({ [env]: 'prod' } as unknown as Attributes)).toBe(false);
    });
    it('skips values that are not strings', () => {
      expect(rule({ [env]: [42, 'prod'] } as unknown as Attributes)).toBe(true);
      expect(
        compileRule({ attribute: env, equals: 'prod', every: true })({ [env]: [42, 'prod'] } as unknown as Attributes),
      ).toBe(false);
    });
  });

  it('throws on a rule without an operator, which validation rejects', () => {
    expect(() => compileRule({ attribute: env })).toThrow(/without an operator/);
  });
});
