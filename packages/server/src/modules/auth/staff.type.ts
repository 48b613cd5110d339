import { builder } from '../../builder.ts';
import { StaffRole } from '../../generated/prisma/enums.ts';

export const StaffRoleEnum = builder.enumType(StaffRole, {
  name: 'StaffRole',
  description: 'OWNER and MANAGER see and act on everything; AGENT on their own customers and the lead pool.',
});

export const StaffUserNode = builder.prismaNode('StaffUser', {
  id: { field: 'id' },
  // Select mode (docs/performance.md): only the columns the requested fields need.
  select: { id: true },
  // node(id)/nodes(ids) of an id not in this shop resolve to null (not a findUniqueOrThrow error).
  nullable: true,
  description: 'A sales rep or service agent of the shop.',
  findUnique: (id) => ({ id }),
  fields: (t) => ({
    email: t.exposeString('email', { authScopes: { scope: 'staff:read' } }),
    name: t.exposeString('name'),
    role: t.expose('role', { type: StaffRoleEnum }),
    active: t.exposeBoolean('active'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
