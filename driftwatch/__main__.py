from driftwatch.cli import main

raise SystemExit(main())
