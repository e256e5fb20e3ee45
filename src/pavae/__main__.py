from pavae.cli import main

raise SystemExit(main())
