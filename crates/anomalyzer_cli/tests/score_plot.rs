//! `--plot` writes a real SVG or PNG of non-trivial size, with or without
//! `--threshold`, from files and stdin; bad plot names are refused up front.

mod sandbox;

use sandbox::{csv_of, series, Sandbox};

#[test]
fn svg_plot_is_an_svg_document_with_the_title_and_bands() {
    let sb = Sandbox::new();
    sb.write("in.csv", &csv_of(&series()));
    let run = sb.run(
        &[
            "score",
            "in.csv",
            "--perm-count",
            "30",
            "--threshold",
            "0.6",
            "--plot",
            "p.svg",
        ],
        "",
    );
    run.ok();
    let svg = std::fs::read_to_string(sb.path("p.svg")).unwrap();
    assert!(svg.len() > 5_000, "{} bytes", svg.len());
    let root = svg.find("<svg").expect("an <svg> root element");
    assert!(svg[..root].trim().is_empty() || svg[..root].trim_start().starts_with("<?xml"));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("in.csv: 40 points, ") && svg.contains(" flagged in 1 range"),
        "title names the input"
    );
    assert!(
        svg.contains("threshold 0.6"),
        "the threshold is labelled in place"
    );
    assert!(
        svg.contains("\nprobability\n</text>") && svg.contains("\nvalue\n</text>"),
        "axes are named"
    );
    assert!(svg.contains("<rect"), "flagged ranges are shaded");
}

#[test]
fn png_plot_is_a_png_of_the_expected_size_without_system_fonts() {
    let sb = Sandbox::new();
    let values = series();
    let plain: String = values.iter().map(|v| format!("{v}\n")).collect();
    // From stdin, no timestamps, no threshold; and with a bogus font path in
    // the environment to make sure no system font lookup is involved.
    let mut cmd = sb.command(&[
        "score",
        "--perm-count",
        "30",
        "--plot",
        "p.PNG",
        "-o",
        "out.csv",
    ]);
    cmd.env("FONTCONFIG_FILE", "/nonexistent")
        .env("XDG_DATA_DIRS", "/nonexistent");
    cmd.stdin(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), plain.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let png = std::fs::read(sb.path("p.PNG")).unwrap();
    assert!(png.len() > 10_000, "{} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 720));
}

#[test]
fn a_long_series_is_plotted_compactly() {
    let sb = Sandbox::new();
    let text: String = (0..50_000)
        .map(|i| format!("{}\n", (i % 97) as f64))
        .collect();
    sb.write("long.txt", &text);
    let run = sb.run(
        &[
            "score",
            "long.txt",
            "--methods",
            "magnitude",
            "--plot",
            "p.svg",
            "-o",
            "o.csv",
        ],
        "",
    );
    run.ok();
    let size = std::fs::metadata(sb.path("p.svg")).unwrap().len();
    assert!((5_000..2_000_000).contains(&size), "{size} bytes");
}

#[test]
fn bad_plot_names_are_refused_before_scoring() {
    let sb = Sandbox::new();
    let run = sb.run(&["score", "--plot", "p.gif", "-o", "out.csv"], "1\n2\n");
    let err = run.bad_input();
    assert!(
        err.contains("p.gif") && err.contains(".svg or .png"),
        "{err}"
    );
    assert!(!sb.path("out.csv").exists());
}
