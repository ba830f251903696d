<?xml version="1.0" encoding="utf-8"?>
<!-- dimred-flow test TAP resource.
     ADQL table: dimred_test.main   (schema = this resource directory's name,
     installed as /var/gavo/inputs/dimred_test/q.rd by provision.sh)
     Rows: 1000 real Gaia DR3 sources (tests/data/gaia_dr3_sample_1000.fits) with
     StarHorse-like derived columns; built by make_table.py into gaia_sample.csv.
     Empty CSV fields become NULL.
     ADQL table: dimred_test.large  (same columns; imported only on demand by import_large.sh
     from a CSV that make_large_table.py generates from gaia_sample.csv, for archive-scale fetches) -->
<resource schema="dimred_test">
  <meta name="title">dimred-flow test table (Gaia DR3 sample)</meta>
  <meta name="description">1000 Gaia DR3 sources with derived Galactocentric
    positions and absolute magnitudes, served for the dimred-flow test-suite.</meta>
  <meta name="creationDate">2025-01-01T00:00:00Z</meta>
  <meta name="subject">astrometry</meta>
  <meta name="creator.name">dimred-flow</meta>
  <meta name="source">Gaia Collaboration 2023, A&amp;A 674, A1</meta>
  <meta name="content.type">Catalog</meta>

  <STREAM id="gaia_columns">
    <column name="source_id" type="bigint" required="True"
      ucd="meta.id;meta.main" tablehead="Gaia DR3 id"
      description="Gaia DR3 unique source identifier"/>
    <column name="ra" type="double precision" unit="deg"
      ucd="pos.eq.ra;meta.main" description="Right ascension (ICRS, epoch J2016.0)"/>
    <column name="dec" type="double precision" unit="deg"
      ucd="pos.eq.dec;meta.main" description="Declination (ICRS, epoch J2016.0)"/>
    <column name="parallax" type="double precision" unit="mas"
      ucd="pos.parallax.trig" description="Parallax"/>
    <column name="pmra" type="double precision" unit="mas/yr"
      ucd="pos.pm;pos.eq.ra" description="Proper motion in RA * cos(dec)"/>
    <column name="pmdec" type="double precision" unit="mas/yr"
      ucd="pos.pm;pos.eq.dec" description="Proper motion in declination"/>
    <column name="xgal" type="double precision" unit="kpc"
      ucd="pos.cartesian.x;pos.galactocentric"
      description="Galactocentric X (astropy Galactocentric v4.0); NULL if parallax missing or &lt;= 0"/>
    <column name="ygal" type="double precision" unit="kpc"
      ucd="pos.cartesian.y;pos.galactocentric"
      description="Galactocentric Y (astropy Galactocentric v4.0); NULL if parallax missing or &lt;= 0"/>
    <column name="zgal" type="double precision" unit="kpc"
      ucd="pos.cartesian.z;pos.galactocentric"
      description="Galactocentric Z (astropy Galactocentric v4.0); NULL if parallax missing or &lt;= 0"/>
    <column name="bprp0" type="real" unit="mag"
      ucd="phot.color;em.opt.B;em.opt.R"
      description="BP-RP colour (stand-in for the dereddened colour); NULL if bp_rp missing"/>
    <column name="mg0" type="real" unit="mag"
      ucd="phot.mag;phys.absMag;em.opt"
      description="Absolute G magnitude G + 5 log10(parallax/100 mas); NULL if parallax missing or &lt;= 0"/>
    <column name="random_index" type="bigint" required="True"
      ucd="meta.code" description="Deterministic 0..N-1 index for chunked queries (rank of Gaia random_index)"/>
  </STREAM>

  <table id="main" onDisk="True" adql="True" primary="source_id">
    <meta name="description">Gaia DR3 sample joined with StarHorse-like
      derived quantities (test data).</meta>
    <FEED source="gaia_columns"/>
  </table>

  <table id="large" onDisk="True" adql="True" primary="source_id">
    <meta name="description">gaia_sample.csv repeated to any number of rows with
      synthetic source_id and a shuffled random_index (archive-scale fetch tests).</meta>
    <FEED source="gaia_columns"/>
  </table>

  <data id="import">
    <sources>gaia_sample.csv</sources>
    <csvGrammar/>
    <make table="main">
      <rowmaker idmaps="*"/>
    </make>
  </data>

  <data id="import_large" auto="False">
    <sources>large.csv</sources>
    <csvGrammar/>
    <make table="large">
      <rowmaker idmaps="*"/>
    </make>
  </data>
</resource>
