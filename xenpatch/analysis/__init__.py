"""The general C analysis of lock use, shared by lint, runtime and rewrite.

Layers, each importing only those above it in this list (and xenpatch.c):

* ``lockkeys``     -- lock expressions as keys: squash, lock_key, aliases, key heads
* ``locktable``    -- the lock API table (rules/locks.toml): ops, wrappers, Effect,
  Summary, resolving a call
* ``values``       -- value classes of the flag tracking, pointer origins, VarTest
* ``typesafe``     -- boxed integers (mfn_t): their one constant and equality tests
* ``rulewrappers`` -- what the conversion rules add to the table
* ``config``       -- AnalysisConfig: a rules directory's tables and settings
* ``headers``      -- a tree's header index (macro wrappers, inlines, percpu members)
* ``events``       -- what a CFG node does (OpAct, ...) and what a branch teaches
* ``irqstate``     -- this CPU's IRQ state as dataflow facts: the IRQ API table,
  the moves, what is wrong at one, "turns IRQs on on every path"
* ``irqroots``     -- the functions the tree's entry code calls in a known IRQ
  state (a hypercall's handler), named from the tree's own header
* ``functions``    -- per-function facts: parameters, aliases, tracked flags
* ``conditions``   -- branch conditions and the correlated tests between them
* ``collective``   -- locals holding a collection's element, loops taking the lock
  of every element (a summary's take of ``C[*].f``), restated at a call
* ``assignments``  -- what an assignment names and does: a call's result's
  variable, a stored pointer, a flag update, the AssignAct
* ``actions``      -- fill_actions: the events of every CFG node of a function
* ``dataflow``     -- the path-sensitive held-lock engine and its Observer seam
* ``unit``         -- FunctionUnit: one function and what is known of it
* ``quietexits``   -- exits no path to which performs a lock operation
* ``exitnames``    -- a lock held at exit through a local, named by the expression
  the way out proved the local equal to (a retry-until-stable helper)
* ``nonzero``      -- returns of a local every path proves non-zero (``if ( rc )
  goto fail;``)
* ``summaries``    -- exits classified, helper summaries, their instantiation
* ``fileanalysis`` -- FileAnalysis: a file's functions, call resolution, on demand
"""
