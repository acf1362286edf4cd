from datacheck.cli.main import main

raise SystemExit(main())
