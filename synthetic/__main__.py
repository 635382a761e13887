from synthetic.customers import main

raise SystemExit(main())
