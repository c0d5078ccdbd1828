use runner::data::*;
#[test]
fn show() {
    let o = DataOptions::default();
    println!("{:#}\n", load("mnist", &o).unwrap_err());
    println!("{:#}\n", load("cifar10", &o).unwrap_err());
    println!("{:#}\n", load("fashion_mnist", &o).unwrap_err());
    let r = verify("fashion-mnist", &o).unwrap();
    println!("{r:#?}");
    for i in list(&o) {
        println!("{i:?}");
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("x.gz");
    std::fs::write(&p, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03abc").unwrap();
    println!("{:#}", idx::read_images(&p).unwrap_err());
    std::fs::write(
        &p,
        [0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3],
    )
    .unwrap();
    println!("{:#}", idx::read_images(&p).unwrap_err());
}
