"""xenpatch runtime: executable models of Xen's locks and a schedule explorer.

* ``programs``  -- ``Op``, ``Program``, ``Scenario``: lock programs, the input
  of everything else (and the text format of ``xenpatch explore``)
* ``machine``   -- ``Config`` (era, build), ``Machine``: simulated CPUs over one
  shared memory, one atomic step at a time
* ``locks``     -- spinlock_t, rwlock_t (2016 and HEAD), percpu_rwlock_t as
  step functions
* ``explore``   -- exhaustive search with partial-order reduction, random
  walks, replay, minimisation, fair-starvation search
* ``symmetry``  -- one state per permutation of CPUs running identical programs
* ``era``       -- which lock model a tree needs, from its rwlock.h/spinlock.h
* ``irqctx``    -- which functions a tree runs in interrupt context
* ``difftest``  -- before/after comparison of converted functions (labels
  new / preexisting / fixed / masked; coverage in ``conversion``)
* ``cprograms`` -- one C function's lock programs, path by path
* ``conversion`` -- which functions a conversion touches, their programs
  before and after, paired
* ``cli``       -- the ``explore`` subcommand
"""
