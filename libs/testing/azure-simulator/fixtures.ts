import type { WorldInit } from './world';

// A small Azure for tests and demos: one tenant, a subscription with a
// `frontend` resource group holding the `blog` VM, its NIC in the
// `webservers` security group and the `vnet/default` subnet.

export const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const OTHER_TENANT_ID = '0d2a3b7c-1111-4222-8333-944445555666';
export const SUBSCRIPTION_ID = '6c2b3c0e-9f1a-4b2c-8d3e-4f5a6b7c8d9e';
export const BLOG_PRINCIPAL_ID = '2c4e6a8b-0d1f-4a3b-9c5d-7e9f1a3b5c7d';

export function azureWorldInit(): WorldInit {
  return {
    tenants: [{ id: TENANT_ID }, { id: OTHER_TENANT_ID }],
    servicePrincipals: [{ tenantId: TENANT_ID, clientId: '11111111-2222-4333-8444-555555555555' }],
    networkInterfaces: [
      {
        subscriptionId: SUBSCRIPTION_ID,
        resourceGroup: 'frontend',
        name: 'blog-nic',
        securityGroup: { name: 'webservers' },
        subnets: [{ virtualNetwork: 'vnet', name: 'default' }],
      },
    ],
    vms: [
      {
        tenantId: TENANT_ID,
        subscriptionId: SUBSCRIPTION_ID,
        resourceGroup: 'frontend',
        name: 'blog',
        principalId: BLOG_PRINCIPAL_ID,
        networkInterfaces: ['blog-nic'],
      },
    ],
  };
}
